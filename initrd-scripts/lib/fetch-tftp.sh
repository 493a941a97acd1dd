# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# tftp:// sources, with busybox tftp, which times out on its own (it retransmits, then gives up).

# tftp://host[:port]/file into file $2; the file name is the path without its leading slash
# (RFC 3617). 1468-byte blocks fill an Ethernet frame; the default 512 makes big images crawl.
# TFTP cannot resume, so a retry starts over.
ram_fetch_tftp() {
	ram_ft_rest=${1#tftp://}
	ram_ft_host=${ram_ft_rest%%/*}
	ram_ft_file=${ram_ft_rest#*/}
	if [ "$ram_ft_host" = "$ram_ft_rest" ] || [ -z "$ram_ft_file" ]; then
		RAM_FETCH_ERROR="no file name in the URL"
		return 1
	fi
	ram_ft_port=69
	case $ram_ft_host in
	*:*)
		ram_ft_port=${ram_ft_host##*:}
		ram_ft_host=${ram_ft_host%:*}
		;;
	esac
	ram_fetch_retry "$1" "$2" ram_fetch_tftp_once
}

# One TFTP attempt into file $2, of the file, host and port ram_fetch_tftp took from the URL,
# hashed as it is written (lib/verify.sh): every attempt starts over, so the digest is always
# taken as the bytes arrive.
ram_fetch_tftp_once() {
	ram_hash_start "$2"
	tftp -g -b 1468 -r "$ram_ft_file" -l "$2" "$ram_ft_host" "$ram_ft_port" 2>"$RAM_ERR"
	ram_ft_status=$?
	ram_hash_finish "$2" || RAM_HASHED_FILE=
	[ "$ram_ft_status" -ne 0 ] || return 0
	RAM_HASHED_FILE=
	ram_tail "$RAM_ERR"
	RAM_FETCH_ERROR=${RAM_TAIL:-tftp failed without a message}
	rm -f "$2"
	RAM_FETCH_FATAL=
	case $RAM_FETCH_ERROR in
	*"not found"* | *"access violation"*) RAM_FETCH_FATAL=1 ;;
	esac
	return 1
}
