# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# overlays=: extra layers stacked between the root image and the writable upper, in the given
# order (the last one on top). Each is fetched like rooturl= into a tmpfs of its own, then, at
# the mount stage, a squashfs is loop-mounted read-only and a .tar.gz is unpacked beside it.
# rootsha256= does not cover them; a URL's own #sha256=HEX suffix is checked when given, and an
# empty one is an error, never an unchecked layer.

# Download every layer to $RAM_PREFIX/run/ramboot/layers/N, N from 1 to RAM_LAYER_COUNT, whose
# URL is kept in RAM_LAYER_URL_N: one variable per layer, so a URL is never split or globbed.
ram_fetch_layers() {
	RAM_LAYER_COUNT=0
	[ -n "$RAM_OVERLAYS" ] || return 0
	RAM_LAYER_DIR=$RAM_PREFIX/run/ramboot/layers
	mkdir -p "$RAM_LAYER_DIR" || ram_die "cannot create $RAM_LAYER_DIR"
	ram_must "overlays=: mounting the layers' tmpfs" mount -t tmpfs -o mode=0700 tmpfs "$RAM_LAYER_DIR"
	ram_memory_free
	set -f
	ram_fl_ifs=$IFS
	IFS=,
	# shellcheck disable=SC2086 # layers are comma-separated
	set -- $RAM_OVERLAYS
	IFS=$ram_fl_ifs
	set +f
	for ram_fl_url; do
		[ -n "$ram_fl_url" ] || continue
		ram_fl_n=$((RAM_LAYER_COUNT + 1))
		ram_fl_pinned=
		ram_fl_sha=
		case $ram_fl_url in
		*'#sha256='*)
			ram_fl_pinned=1
			ram_fl_sha=${ram_fl_url##*#sha256=}
			ram_fl_url=${ram_fl_url%#sha256=*}
			;;
		esac
		ram_resolve_url "$ram_fl_url"
		[ -n "$RAM_URL" ] || ram_die "overlays=: layer $ram_fl_n ($ram_fl_url) is a relative URL, but DHCP named no server to resolve it against"
		ram_fl_what="overlays=: layer $ram_fl_n from $RAM_URL"
		# A layer is always copied into RAM, whatever toram= says of the root image.
		ram_fetch_url "$RAM_URL" "$RAM_LAYER_DIR/$ram_fl_n" ||
			ram_die "overlays=: cannot download layer $ram_fl_n from $RAM_URL: $RAM_FETCH_ERROR"
		if [ -n "$ram_fl_pinned" ]; then
			ram_sha256_check "$RAM_FETCHED" "$ram_fl_sha" "$ram_fl_what: #sha256=$ram_fl_sha" ||
				ram_die "$ram_fl_what: checksum mismatch: got $RAM_SHA256, expected $RAM_SHA256_WANT"
		fi
		ram_log "fetch: layer $ram_fl_n: $(stat -c %s "$RAM_FETCHED") bytes from $RAM_URL${ram_fl_pinned:+ (sha256 matches)}"
		RAM_LAYER_COUNT=$ram_fl_n
		eval "RAM_LAYER_URL_$ram_fl_n=\$RAM_URL"
	done
}

# RAM_LOWERDIRS = the overlay's lowerdir= value: the layers, last first, over the root image's
# $1. A squashfs (by its magic, hsqs) is mounted at N.d; a .tar.gz/.tgz is unpacked into N.d and
# the archive deleted, so its RAM is counted once.
ram_mount_layers() {
	RAM_LOWERDIRS=$1
	ram_ml_n=0
	while [ "$ram_ml_n" -lt "${RAM_LAYER_COUNT:-0}" ]; do
		ram_ml_n=$((ram_ml_n + 1))
		ram_ml_url=
		eval "ram_ml_url=\$RAM_LAYER_URL_$ram_ml_n"
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
