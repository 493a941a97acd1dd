#!/bin/sh
# ssh-debug, after the net stage: with initrddebug=ssh, start dropbear on port 22. Keys-only
# (-s: no passwords), no port forwarding (-j -k); its log goes to /run/ramboot/dropbear.log.
# A debugging aid that cannot start says so and lets the boot go on: it never stops a boot.
[ "$RAM_INITRDDEBUG" = ssh ] || exit 0
fail() {
	echo "ramboot: warning: ssh-debug: $1; no ssh login this boot"
	exit 0
}
# dropbear looks root up by name (glibc reads /etc/passwd without an nsswitch.conf) and runs its
# shell; the initrd has no passwd of its own.
grep -q '^root:' /etc/passwd 2>/dev/null || echo 'root:x:0:0:root:/root:/bin/sh' >>/etc/passwd ||
	fail "cannot write /etc/passwd"
# A terminal for interactive logins; stop-dropbear.sh unmounts it before the switch.
mkdir -p /dev/pts /etc/dropbear || fail "cannot create /dev/pts or /etc/dropbear"
if ! grep -q ' /dev/pts ' /proc/mounts; then
	if mount -t devpts -o nosuid,noexec,gid=5,mode=620,ptmxmode=000 devpts /dev/pts; then
		: >/run/ramboot/dropbear.devpts
	else
		echo "ramboot: warning: ssh-debug: cannot mount /dev/pts: only commands (ssh root@HOST CMD), no interactive login"
	fi
fi
# A fresh host key at every boot (see hook.json); ed25519: quick to make, even under QEMU's TCG.
key=/etc/dropbear/dropbear_ed25519_host_key
/usr/bin/dropbearkey -t ed25519 -f "$key" >/run/ramboot/dropbear-key.txt 2>&1 ||
	fail "dropbearkey failed: $(cat /run/ramboot/dropbear-key.txt)"
fingerprint=$(grep -i '^fingerprint' /run/ramboot/dropbear-key.txt) || fingerprint="fingerprint: unknown"
/usr/sbin/dropbear -r "$key" -s -j -k -p 22 -P /run/ramboot/dropbear.pid -E 2>>/run/ramboot/dropbear.log ||
	fail "dropbear did not start (see /run/ramboot/dropbear.log)"
addresses=
while read -r _ dev _ address _; do
	[ "$dev" = lo ] || addresses="$addresses ${address%/*}"
done <<ADDR
$(ip -o -4 addr show)
ADDR
echo "ramboot: ssh-debug: dropbear listening on port 22 of${addresses:- every address}; host key ${fingerprint#*: }"
