# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# overlays=: extra layers stacked between the root image and the writable upper, in the given
# order (the last one on top). Each is fetched like rooturl= into a tmpfs of its own, then, at
# the mount stage, a squashfs is loop-mounted read-only and a .tar.gz is unpacked beside it.
# rootsha256= does not cover them; a URL's own #sha256=HEX suffix is checked when given.

# Download every layer to $RAM_PREFIX/run/ramboot/layers/N; RAM_LAYERS = "N|URL" words, in order.
ram_fetch_layers() {
	RAM_LAYERS=
	[ -n "$RAM_OVERLAYS" ] || return 0
	RAM_LAYER_DIR=$RAM_PREFIX/run/ramboot/layers
	mkdir -p "$RAM_LAYER_DIR" || ram_die "cannot create $RAM_LAYER_DIR"
	ram_must "overlays=: mounting the layers' tmpfs" mount -t tmpfs -o mode=0700 tmpfs "$RAM_LAYER_DIR"
	ram_meminfo MemAvailable
	RAM_FREE_KB=$((RAM_VALUE - RAM_RESERVE_KB))
	# The fetch functions write RAM_IMAGE and keep a dev:// file on its disk with toram=0; a
	# layer is always copied, and the root image's variables are put back afterwards.
	ram_fl_image=$RAM_IMAGE
	ram_fl_toram=$RAM_TORAM
	RAM_TORAM=y
	set -f
	ram_fl_ifs=$IFS
	IFS=,
	# shellcheck disable=SC2086 # layers are comma-separated
	set -- $RAM_OVERLAYS
	IFS=$ram_fl_ifs
	set +f
	ram_fl_n=0
	for ram_fl_url; do
		[ -n "$ram_fl_url" ] || continue
		ram_fl_n=$((ram_fl_n + 1))
		ram_fl_sha=
		case $ram_fl_url in
		*'#sha256='*)
			ram_fl_sha=${ram_fl_url##*#sha256=}
			ram_fl_url=${ram_fl_url%#sha256=*}
			;;
		esac
		ram_resolve_url "$ram_fl_url"
		[ -n "$RAM_URL" ] || ram_die "overlays=: layer $ram_fl_n ($ram_fl_url) is a relative URL, but DHCP named no server to resolve it against"
		RAM_IMAGE=$RAM_LAYER_DIR/$ram_fl_n
		ram_fetch_url "$RAM_URL" || ram_die "overlays=: cannot download layer $ram_fl_n from $RAM_URL: $RAM_FETCH_ERROR"
		[ -z "$ram_fl_sha" ] || ram_check_sha256 "$RAM_IMAGE" "$ram_fl_sha" "overlays=: layer $ram_fl_n from $RAM_URL"
		ram_log "fetch: layer $ram_fl_n: $(stat -c %s "$RAM_IMAGE") bytes from $RAM_URL${ram_fl_sha:+ (sha256 matches)}"
		RAM_LAYERS="$RAM_LAYERS $ram_fl_n|$RAM_URL"
	done
	RAM_IMAGE=$ram_fl_image
	RAM_TORAM=$ram_fl_toram
}

# Die unless file $1 has sha256 $2 (64 hex digits, either case); $3 names it in the message.
ram_check_sha256() {
	ram_cs_want=$(printf %s "$2" | tr A-F a-f)
	case $ram_cs_want in
	*[!0-9a-f]*) ram_cs_want= ;;
	esac
	[ ${#ram_cs_want} -eq 64 ] || ram_die "$3: #sha256=$2 is not a sha256 (64 hex digits)"
	ram_cs_got=$(sha256sum "$1" 2>"$RAM_ERR") || ram_die "$3: sha256sum failed"
	ram_cs_got=${ram_cs_got%% *}
	[ "$ram_cs_got" = "$ram_cs_want" ] ||
		ram_die "$3: checksum mismatch: got $ram_cs_got, expected $ram_cs_want"
}

# RAM_LOWERDIRS = the overlay's lowerdir= value: the layers, last first, over the root image's
# $1. A squashfs (by its magic, hsqs) is mounted at N.d; a .tar.gz/.tgz is unpacked into N.d and
# the archive deleted, so its RAM is counted once.
ram_mount_layers() {
	RAM_LOWERDIRS=$1
	for ram_ml_layer in $RAM_LAYERS; do
		ram_ml_n=${ram_ml_layer%%|*}
		ram_ml_url=${ram_ml_layer#*|}
		ram_ml_file=$RAM_LAYER_DIR/$ram_ml_n
		ram_ml_dir=$RAM_LAYER_DIR/$ram_ml_n.d
		mkdir -p "$ram_ml_dir" || ram_die "cannot create $ram_ml_dir"
		if [ "$(head -c 4 "$ram_ml_file")" = hsqs ]; then
			ram_must "overlays=: mounting layer $ram_ml_n from $ram_ml_url (squashfs module loaded?)" \
				mount -t squashfs -o ro "$ram_ml_file" "$ram_ml_dir"
			ram_ml_kind=squashfs
		else
			case $ram_ml_url in
			*.tar.gz | *.tgz) ;;
			*) ram_die "overlays=: layer $ram_ml_n from $ram_ml_url is neither a squashfs nor a .tar.gz/.tgz" ;;
			esac
			tar -xzf "$ram_ml_file" -C "$ram_ml_dir" 2>"$RAM_ERR" || {
				ram_tail "$RAM_ERR"
				ram_die "overlays=: unpacking layer $ram_ml_n from $ram_ml_url: ${RAM_TAIL:-tar failed} (not a gzip'd tar?)"
			}
			rm -f "$ram_ml_file"
			ram_ml_kind=tar.gz
		fi
		ram_log "mount: layer $ram_ml_n ($ram_ml_kind) from $ram_ml_url"
		RAM_LOWERDIRS=$ram_ml_dir:$RAM_LOWERDIRS
	done
}
