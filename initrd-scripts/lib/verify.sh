# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# The sha256 check, for the root image (the verify stage) and for overlays= layers with a
# #sha256= pin (lib/layers.sh). It fails closed: a pin that is empty or malformed is an error,
# and a root image with no pin at all is refused; rootsha256=off is the one way to boot an image
# nobody checked, and it says so loudly.

ram_stage_verify() {
	case $RAM_ROOTSHA256 in
	off)
		ram_warn "verify: rootsha256=off: $RAM_IMAGE_URL is NOT verified; anyone who can change it on the server or the network chooses what this machine boots"
		ram_report verify '{"result": "off", "sha256": "off"}'
		return 0
		;;
	'')
		ram_die "no sha256 to check $RAM_IMAGE_URL against: this initrd has none built in and the command line gives no rootsha256= (build with ramboot build, or add rootsha256=HEX, or rootsha256=off to boot it unverified)"
		;;
	esac
	if ram_sha256_check "$RAM_IMAGE" "$RAM_ROOTSHA256" "rootsha256=$RAM_ROOTSHA256"; then
		ram_log "verify: sha256 $RAM_SHA256 matches"
		ram_report verify "{\"result\": \"match\", \"sha256\": \"$RAM_SHA256\"}"
		return 0
	fi
	ram_report verify "{\"result\": \"mismatch\", \"sha256\": \"$RAM_SHA256\", \"expected\": \"$RAM_SHA256_WANT\"}"
	ram_die "checksum mismatch for $RAM_IMAGE_URL: got $RAM_SHA256, expected $RAM_SHA256_WANT (a stale image on the server, or the wrong rootsha256=?)"
}

# True when file $1 has the sha256 $2 (64 hex digits, either case): RAM_SHA256 is what the file
# has, RAM_SHA256_WANT the pin in lower case. A pin that is not 64 hex digits (empty included)
# dies naming it as $3 says (e.g. rootsha256=abc), and so does a file that cannot be read.
ram_sha256_check() {
	RAM_SHA256_WANT=$2
	case $RAM_SHA256_WANT in
	*[A-F]*) RAM_SHA256_WANT=$(printf %s "$RAM_SHA256_WANT" | tr A-F a-f) ;;
	esac
	case $RAM_SHA256_WANT in
	*[!0-9a-f]*) RAM_SHA256_WANT= ;;
	esac
	[ ${#RAM_SHA256_WANT} -eq 64 ] || ram_die "$3 is not a sha256 (64 hex digits)"
	RAM_SHA256=$(sha256sum "$1" 2>"$RAM_ERR") || {
		ram_tail "$RAM_ERR"
		ram_die "sha256sum of $1 failed: ${RAM_TAIL:-no message}"
	}
	RAM_SHA256=${RAM_SHA256%% *}
	[ "$RAM_SHA256" = "$RAM_SHA256_WANT" ]
}
