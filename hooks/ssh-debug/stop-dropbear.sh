#!/bin/sh
# ssh-debug, before switch_root: the boot went through, so the listener goes (the real system
# brings its own sshd); sessions still open keep running until they log out.
[ "$RAM_INITRDDEBUG" = ssh ] || exit 0
pid=$(cat /run/ramboot/dropbear.pid 2>/dev/null) || exit 0
case $pid in
'' | *[!0-9]*) exit 0 ;;
esac
kill "$pid" 2>/dev/null || true
# Only a devpts start-dropbear.sh mounted. Busy while a session has a terminal open: then it
# stays, and moves into the new root with /dev.
[ ! -f /run/ramboot/dropbear.devpts ] || umount /dev/pts 2>/dev/null || true
echo "ramboot: ssh-debug: dropbear stopped before switch_root"
