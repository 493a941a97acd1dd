# shellcheck shell=sh
# Compressed swap on /dev/zram0, zram_size_pct percent of RAM, set up before the switch so it is
# the first swap: the kernel gives later swaps lower priorities, so a disk swap the root adds
# only takes what zram cannot (busybox swapon has no -p).

ram_stage_zram() {
	if [ "$RAM_ZRAM_SIZE_PCT" -eq 0 ]; then
		ram_log "zram: off (zram_size_pct=0)"
		return 0
	fi
	ram_zr_dev=$RAM_PREFIX/sys/block/zram0
	[ -d "$ram_zr_dev" ] || ram_must "zram: loading the zram module" modprobe zram
	# Without its compressor zram cannot size the device (dmesg: "Cannot initialise lzo-rle
	# compressing backend"). The compressor may be a module (lzo-rle is, on Debian) or built in,
	# so a failed modprobe means nothing; the writes below tell.
	modprobe -q "$RAM_ZRAM_ALGO" 2>/dev/null
	ram_meminfo MemTotal
	ram_zr_kb=$((RAM_VALUE * RAM_ZRAM_SIZE_PCT / 100))
	echo "$RAM_ZRAM_ALGO" 2>"$RAM_ERR" >"$ram_zr_dev/comp_algorithm" ||
		ram_die "zram: the kernel has no $RAM_ZRAM_ALGO compressor (zram_algo=$RAM_ZRAM_ALGO; is its module in the initrd?)"
	echo "${ram_zr_kb}K" 2>"$RAM_ERR" >"$ram_zr_dev/disksize" ||
		ram_die "zram: /dev/zram0 refused a size of ${ram_zr_kb} KiB with $RAM_ZRAM_ALGO (its compressor module missing? see dmesg)"
	ram_zram_swap_header $((ram_zr_kb * 1024))
	ram_must "zram: swapon /dev/zram0" swapon "$RAM_PREFIX/dev/zram0"
	ram_log "zram: $((ram_zr_kb >> 10)) MiB of swap on /dev/zram0 ($RAM_ZRAM_ALGO, $RAM_ZRAM_SIZE_PCT% of RAM)"
}

# The swap header, written directly instead of by mkswap: mkswap reads /dev/urandom for a UUID,
# and before the kernel's random pool is ready (no RDRAND, e.g. QEMU's default CPU) that read
# spends about a second making entropy. The fresh device reads as zeros, so the header is the
# version (1) and last page at byte 1024 and SWAPSPACE2 closing the first page
# (include/linux/swap.h, union swap_header); zram's physical block size is the page size.
# Little-endian always: swapon byte-swaps a header written on the other endianness.
ram_zram_swap_header() {
	read -r ram_sh_page <"$RAM_PREFIX/sys/block/zram0/queue/physical_block_size"
	ram_sh_last=$(($1 / ram_sh_page - 1))
	ram_sh_bytes='\001\000\000\000'
	for ram_sh_shift in 0 8 16 24; do
		ram_sh_byte=$((ram_sh_last >> ram_sh_shift & 255))
		ram_sh_bytes="$ram_sh_bytes\\$((ram_sh_byte >> 6))$((ram_sh_byte >> 3 & 7))$((ram_sh_byte & 7))"
	done
	# shellcheck disable=SC2059 # the format is the octal escapes just built
	if ! printf "$ram_sh_bytes" | dd of="$RAM_PREFIX/dev/zram0" bs=1024 seek=1 conv=notrunc 2>"$RAM_ERR" ||
		! printf SWAPSPACE2 | dd of="$RAM_PREFIX/dev/zram0" bs=1 seek=$((ram_sh_page - 10)) conv=notrunc 2>"$RAM_ERR"; then
		ram_tail "$RAM_ERR"
		ram_die "zram: cannot write the swap header to /dev/zram0: $RAM_TAIL"
	fi
}
