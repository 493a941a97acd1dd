# shellcheck shell=sh disable=SC2034,SC2153 # RAM_* globals cross the lib files and /etc/ram.conf
# The kernel command line -> RAM_* variables, by the rules in the header of src/cmdline/parse.ts
# (both parsers pass test/fixtures/cmdline-cases.json). Names, aliases, flags and defaults come
# from /etc/ram.conf (RAM_PARAM_MAP, RAM_PARAM_FLAGS, RAM_<VAR>), never from this file.

# Blanks as the kernel's isspace() sees them (lib/ctype.c): the ASCII ones and byte 0xA0, which
# splits a UTF-8 U+00A0 (C2 A0) after its C2 (see KERNEL_BLANKS in src/cmdline/parse.ts). ash
# splits and matches bytes. The newline sits inside so $() keeps it.
RAM_BLANKS=$(printf ' \t\n\r\v\f\240')

# The only reader of /proc/cmdline: tests point RAM_PREFIX at a fake /proc. All of it: a newline
# inside the command line is a blank to the kernel, not its end.
ram_read_cmdline() {
	RAM_CMDLINE=$(cat "$RAM_PREFIX/proc/cmdline")
}

# ram.conf's defaults, then the command line over them.
ram_load_params() {
	[ -r "$RAM_PREFIX/etc/ram.conf" ] || ram_die "no /etc/ram.conf: this initrd was not built by ramboot"
	# shellcheck source=/dev/null
	. "$RAM_PREFIX/etc/ram.conf"
	ram_read_cmdline
	ram_parse_cmdline "$RAM_CMDLINE"
}

# RAM_PARAM_VAR = the variable of parameter $1 (- and _ are the same); false if unknown.
ram_lookup_param() {
	ram_name "$1"
	ram_lp_name=$RAM_NAME
	case " $RAM_PARAM_MAP " in
	*" $ram_lp_name="*) ;;
	*) return 1 ;;
	esac
	case $ram_lp_name in
	'' | *["$RAM_BLANKS"]*) return 1 ;;
	esac
	RAM_PARAM_VAR=" $RAM_PARAM_MAP "
	RAM_PARAM_VAR=${RAM_PARAM_VAR#*" $ram_lp_name="}
	RAM_PARAM_VAR=${RAM_PARAM_VAR%% *}
}

# Split on double quotes: even pieces are bare text (blanks split words there), odd pieces were
# quoted and join the word around them, as the kernel's next_arg() reads them. Globbing is off
# so a `*` in a value stays a `*`.
ram_parse_cmdline() {
	RAM_FLAG_VARS=
	RAM_PARAM_GIVEN=
	for ram_pc_name in $RAM_PARAM_FLAGS; do
		ram_lookup_param "$ram_pc_name" && RAM_FLAG_VARS="$RAM_FLAG_VARS $RAM_PARAM_VAR"
	done
	RAM_CMDLINE_END=
	ram_pc_word=
	ram_pc_inword=
	ram_pc_quoted=
	set -f
	ram_pc_ifs=$IFS
	IFS='"'
	# shellcheck disable=SC2086 # splitting on quotes is the point
	set -- $1
	IFS=$ram_pc_ifs
	for ram_pc_piece; do
		if [ -n "$ram_pc_quoted" ]; then
			ram_pc_word=$ram_pc_word$ram_pc_piece
			ram_pc_inword=1
			ram_pc_quoted=
		else
			ram_split_blanks "$ram_pc_piece"
			ram_pc_quoted=1
		fi
	done
	ram_end_word
	set +f
}

# Bare text: a leading blank ends the word being built, inner blanks separate whole words, and
# text running up to a quote stays open for the quoted piece that follows.
ram_split_blanks() {
	case $1 in
	["$RAM_BLANKS"]*) ram_end_word ;;
	esac
	ram_sb_text=$1
	ram_sb_ifs=$IFS
	IFS=$RAM_BLANKS
	# shellcheck disable=SC2086 # splitting on blanks is the point
	set -- $1
	IFS=$ram_sb_ifs
	if [ $# -gt 0 ]; then
		ram_pc_word=$ram_pc_word$1
		ram_pc_inword=1
		shift
	fi
	for ram_sb_piece; do
		ram_end_word
		ram_pc_word=$ram_sb_piece
		ram_pc_inword=1
	done
	case $ram_sb_text in
	*["$RAM_BLANKS"]) ram_end_word ;;
	esac
}

ram_end_word() {
	[ -n "$ram_pc_inword" ] && ram_cmdline_word "$ram_pc_word"
	ram_pc_word=
	ram_pc_inword=
}

# One word: `--` ends the kernel's part (the rest is init's); `name` or `name=value` of a known
# parameter sets its variable; the last one wins; unknown words belong to someone else.
# RAM_PARAM_GIVEN lists the variables the command line set, so the checks can tell an empty
# `rootsha256=` from the table's empty default.
ram_cmdline_word() {
	[ -z "$RAM_CMDLINE_END" ] || return 0
	case $1 in
	--)
		RAM_CMDLINE_END=1
		return 0
		;;
	*=*)
		ram_cw_key=${1%%=*}
		ram_cw_value=${1#*=}
		ram_cw_bare=
		;;
	*)
		ram_cw_key=$1
		ram_cw_value=
		ram_cw_bare=1
		;;
	esac
	ram_lookup_param "$ram_cw_key" || return 0
	case " $RAM_FLAG_VARS " in
	*" $RAM_PARAM_VAR "*)
		if [ -n "$ram_cw_bare" ]; then
			ram_cw_value=y
		else
			case $ram_cw_value in
			y | yes | 1 | true) ram_cw_value=y ;;
			n | no | 0 | false) ram_cw_value=n ;;
			esac
		fi
		;;
	esac
	eval "RAM_$RAM_PARAM_VAR=\$ram_cw_value"
	RAM_PARAM_GIVEN="$RAM_PARAM_GIVEN $RAM_PARAM_VAR"
}
