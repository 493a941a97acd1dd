# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# The sha256 check, for the root image (ram_verify_root, at the end of the fetch stage) and for
# overlays= layers with a #sha256= pin (lib/layers.sh). It fails closed: a pin that is empty or
# malformed is an error, and a root image with no pin at all is refused; rootsha256=off is the
# one way to boot an image nobody checked, and it says so loudly.
#
# The digest is taken while the bytes arrive (issue 16): while wget, tftp or the copy out of the
# cache= disk writes the image file, a follower passes what has been written so far, a few MiB
# at a time, into sha256sum, so the hash is ready a moment after the last byte and no second pass
# over the image follows. This holds because those writers only ever append to a file they
# created empty (a fresh wget without -c never seeks; tftp and cp write in order), and the
# digest counts only when it covers exactly as many bytes as the file has. A download resumed
# after a cut (wget -c: after a 200 answer it rewrites the file from byte 0 in place) and dev://
# or built-in images are hashed over the whole file afterwards, as before; report.json's
# "verify" says which ("hashed": "while" or "after"). busybox tee would do it in one pass
# too, but reads 1 KiB at a time: three system calls per KiB cost more than they save under
# emulation.

# The follower's files for the one download under way.
ram_hash_paths() {
	RAM_HASH_OUT=$RAM_PREFIX/run/ramboot/hash.out
	RAM_HASH_LEN=$RAM_PREFIX/run/ramboot/hash.len
	RAM_HASH_DONE=$RAM_PREFIX/run/ramboot/hash.done
}

# Start hashing file $1 as it is written, from empty (it is removed first). A download is only
# hashed when its digest will be compared: not with rootsha256=off, nor with the verity hook,
# whose root hash pins every block instead; a digest nobody reads takes the CPU the download
# needs. $2 = always: the caller compares the digest itself (the cache= copy).
ram_hash_start() {
	RAM_HASHED_FILE=
	RAM_HASH_PID=
	ram_hash_paths
	rm -f "$RAM_HASH_OUT" "$RAM_HASH_LEN" "$RAM_HASH_DONE" "$1"
	if [ "${2:-}" != always ]; then
		case $RAM_ROOTSHA256 in
		off | '') return 0 ;;
		esac
		! ram_verity_on || return 0
	fi
	ram_hash_follow "$1" </dev/null 2>/dev/null | sha256sum >"$RAM_HASH_OUT" &
	RAM_HASH_PID=$!
}

# Copy file $1 to stdout as it grows, until RAM_HASH_DONE says its writer is gone and all of it
# is out; then RAM_HASH_LEN = the bytes copied. One descriptor stays open on the file and each
# `cat` goes on from where the last one stopped, to the current end (busybox cat sends it with
# sendfile, and runs inside this shell). A pause between rounds lets the writer fill a few MiB:
# every round costs process starts, which under emulation cost more than the bytes do. The
# position comes from this process's own /proc/self/fdinfo (not RAM_PREFIX's: it is about this
# shell, not the machine), so no stat runs per round.
ram_hash_follow() {
	while [ ! -e "$1" ]; do
		[ ! -e "$RAM_HASH_DONE" ] || return 1
		command sleep 0.05
	done
	exec 3<"$1" || return 1
	while :; do
		ram_hw_last=
		[ ! -e "$RAM_HASH_DONE" ] || ram_hw_last=1
		cat <&3 || return 1
		if [ -n "$ram_hw_last" ]; then
			while read -r ram_hw_key ram_hw_pos; do
				[ "$ram_hw_key" != pos: ] || break
			done </proc/self/fdinfo/3
			echo "$ram_hw_pos" >"$RAM_HASH_LEN"
			return 0
		fi
		command sleep 0.2
	done
}

# Once the writer of file $1 has exited: RAM_HASHED_FILE=$1, RAM_HASHED_SHA256 its digest and
# RAM_HASHED_BYTES its size when the hash covered the whole file; else false.
ram_hash_finish() {
	[ -n "$RAM_HASH_PID" ] || return 1
	: >"$RAM_HASH_DONE"
	wait "$RAM_HASH_PID"
	ram_hf_sum=
	ram_hf_len=
	[ ! -f "$RAM_HASH_OUT" ] || read -r ram_hf_sum _ <"$RAM_HASH_OUT"
	[ ! -f "$RAM_HASH_LEN" ] || read -r ram_hf_len <"$RAM_HASH_LEN"
	rm -f "$RAM_HASH_OUT" "$RAM_HASH_LEN" "$RAM_HASH_DONE"
	ram_hf_size=$(stat -c %s "$1" 2>/dev/null) || return 1
	[ ${#ram_hf_sum} -eq 64 ] && [ "$ram_hf_len" = "$ram_hf_size" ] || return 1
	RAM_HASHED_FILE=$1
	RAM_HASHED_SHA256=$ram_hf_sum
	# The size the digest is of: a file changed afterwards is hashed again, never trusted.
	RAM_HASHED_BYTES=$ram_hf_size
}

# The root image RAM_IMAGE against rootsha256=, before anything mounts it. initrddebug=verify
# and the before-verify/after-verify hook points still exist (src/cmdline/params.ts,
# BOOT_POINTS): here, inside the fetch stage, where the image is complete but not yet accepted.
ram_verify_root() {
	ram_breakpoint verify
	ram_run_stage_hooks before-verify
	# The verity hook: the root hash pins every block when it is read (lib/verity.sh).
	if ram_verity_on; then
		ram_verity_verify
		ram_run_stage_hooks after-verify
		return 0
	fi
	case $RAM_ROOTSHA256 in
	off)
		ram_warn "verify: rootsha256=off: $RAM_IMAGE_URL is NOT verified; anyone who can change it on the server or the network chooses what this machine boots"
		ram_report verify '{"result": "off", "sha256": "off"}'
		ram_run_stage_hooks after-verify
		return 0
		;;
	'')
		ram_die "no sha256 to check $RAM_IMAGE_URL against: this initrd has none built in and the command line gives no rootsha256= (build with ramboot build, or add rootsha256=HEX, or rootsha256=off to boot it unverified)"
		;;
	esac
	ram_now
	ram_vr_start=$RAM_NOW
	ram_vr_refetched=
	while ! ram_sha256_check "$RAM_IMAGE" "$RAM_ROOTSHA256" "rootsha256=$RAM_ROOTSHA256"; do
		ram_verify_refetch || break
		ram_vr_refetched=true
	done
	if [ "$RAM_SHA256" = "$RAM_SHA256_WANT" ]; then
		ram_now
		ram_fmt $((RAM_NOW - ram_vr_start))
		if [ "$RAM_SHA256_HOW" = while ]; then
			ram_log "verify: sha256 $RAM_SHA256 matches (hashed while it arrived)"
		else
			ram_log "verify: sha256 $RAM_SHA256 matches (hashed after the download, ${RAM_FMT}s)"
		fi
		ram_report verify "{\"result\": \"match\", \"sha256\": \"$RAM_SHA256\", \"hashed\": \"$RAM_SHA256_HOW\", \"seconds\": $RAM_FMT${ram_vr_refetched:+, \"refetched\": true}}"
		ram_run_stage_hooks after-verify
		return 0
	fi
	ram_report verify "{\"result\": \"mismatch\", \"sha256\": \"$RAM_SHA256\", \"expected\": \"$RAM_SHA256_WANT\", \"hashed\": \"$RAM_SHA256_HOW\"}"
	ram_die "checksum mismatch for $RAM_IMAGE_URL: got $RAM_SHA256, expected $RAM_SHA256_WANT (a stale image on the server, or the wrong rootsha256=?)"
}

# After a mismatch: when the image was an http(s) download resumed after a cut (hashed "after"),
# fetch it once more from byte 0 and say so; false when that does not apply or was done. A resumed
# download can come back spliced rather than stale: nginx's slice module (a caching tier's range
# requests) goes on with the next piece when its origin cuts one, so the sizes add up to the
# image's and the bytes do not (docs/facts.md). A fresh download settles which it was.
ram_verify_refetch() {
	[ "$RAM_SHA256_HOW" = after ] && [ -z "${RAM_VERIFY_REFETCHED:-}" ] || return 1
	case $RAM_IMAGE_URL in
	http://* | https://*) ;;
	*) return 1 ;;
	esac
	RAM_VERIFY_REFETCHED=1
	ram_warn "verify: $RAM_IMAGE_URL: checksum mismatch after a resumed download (got $RAM_SHA256); fetching it once more from the start"
	ram_fetch_url "$RAM_IMAGE_URL" "$RAM_IMAGE" || {
		ram_warn "verify: $RAM_IMAGE_URL: the fresh download failed: $RAM_FETCH_ERROR"
		return 1
	}
	RAM_IMAGE=$RAM_FETCHED
	RAM_IMAGE_BYTES=$(stat -c %s "$RAM_IMAGE")
}

# RAM_SHA256_WANT = pin $1 in lower case, when it is 64 hex digits; else die naming it as $2
# says (e.g. rootsha256=abc). Empty counts as malformed.
ram_sha256_pin() {
	RAM_SHA256_WANT=$1
	case $RAM_SHA256_WANT in
	*[A-F]*) RAM_SHA256_WANT=$(printf %s "$RAM_SHA256_WANT" | tr A-F a-f) ;;
	esac
	case $RAM_SHA256_WANT in
	*[!0-9a-f]*) RAM_SHA256_WANT= ;;
	esac
	[ ${#RAM_SHA256_WANT} -eq 64 ] || ram_die "$2 is not a sha256 (64 hex digits)"
}

# True when file $1 has the sha256 $2 (64 hex digits, either case): RAM_SHA256 is what the file
# has, RAM_SHA256_WANT the pin in lower case, RAM_SHA256_HOW "while" when the digest taken as
# the file arrived (ram_hash_finish) still stands for it, else "after": sha256sum reads it now.
# A pin that is not 64 hex digits dies naming it as $3 says, and so does a file that cannot be
# read.
ram_sha256_check() {
	ram_sha256_pin "$2" "$3"
	if [ -n "${RAM_HASHED_FILE:-}" ] && [ "$1" = "$RAM_HASHED_FILE" ] &&
		[ "$(stat -c %s "$1" 2>/dev/null)" = "$RAM_HASHED_BYTES" ]; then
		RAM_SHA256=$RAM_HASHED_SHA256
		RAM_SHA256_HOW=while
	else
		RAM_SHA256=$(sha256sum "$1" 2>"$RAM_ERR") || {
			ram_tail "$RAM_ERR"
			ram_die "sha256sum of $1 failed: ${RAM_TAIL:-no message}"
		}
		RAM_SHA256=${RAM_SHA256%% *}
		RAM_SHA256_HOW=after
	fi
	[ "$RAM_SHA256" = "$RAM_SHA256_WANT" ]
}
