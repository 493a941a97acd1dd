// The mount, fixups and switch stages against a fake tree (mount and switch_root are stubs, so
// the "overlay" is the sandbox's newroot directory, prepared by each test).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readlinkSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { BUSYBOX, Sandbox, errorLines } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));
function sandbox(cmdline = ''): Sandbox {
  const sb = new Sandbox({ cmdline });
  sandboxes.push(sb);
  sb.write('sys/class/net/eth0/address', '52:54:00:12:34:56\n');
  return sb;
}
function executable(sb: Sandbox, rel: string): void {
  writeFileSync(sb.path(rel), '#!/bin/sh\n');
  chmodSync(sb.path(rel), 0o755);
}
/** A merged-/usr image: /sbin -> usr/sbin, /sbin/init -> an absolute link to systemd. */
function debianLikeRoot(sb: Sandbox): void {
  mkdirSync(sb.path('newroot/usr/sbin'), { recursive: true });
  mkdirSync(sb.path('newroot/usr/lib/systemd'), { recursive: true });
  symlinkSync('usr/sbin', sb.path('newroot/sbin'));
  symlinkSync('usr/lib', sb.path('newroot/lib'));
  symlinkSync('/lib/systemd/systemd', sb.path('newroot/usr/sbin/init'));
  executable(sb, 'newroot/usr/lib/systemd/systemd');
}
const MOUNT = 'ram_stage_setup >/dev/null; RAM_IMAGE_URL=http://h/r.sqfs; RAM_IMAGE=$RAM_PREFIX/run/ramboot/image/rootfs.squashfs; ram_stage_mount';

test('mount: squashfs read-only, the overlay tmpfs capped by overlay_size=, the overlay on /newroot', () => {
  const sb = sandbox('overlay_size=1G');
  debianLikeRoot(sb);
  const r = sb.run(MOUNT);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('mount').slice(4), [
    'mount -t squashfs -o ro $P/run/ramboot/image/rootfs.squashfs $P/run/ramboot/lower',
    'mount -t tmpfs -o size=1G,mode=0755 tmpfs $P/run/ramboot/rw',
    'mount -t overlay -o lowerdir=$P/run/ramboot/lower,upperdir=$P/run/ramboot/rw/upper,workdir=$P/run/ramboot/rw/work overlay $P/newroot',
  ]);
  assert.ok(sb.exists('run/ramboot/rw/upper') && sb.exists('run/ramboot/rw/work'));
});

test('mount: persist=LABEL= puts the overlay upper in ramboot/ on that filesystem; a missing one stops the boot', () => {
  const sb = sandbox('persist=LABEL=PERSIST');
  debianLikeRoot(sb);
  sb.stub('findfs', 'echo /dev/vdb1');
  const r = sb.run(MOUNT);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('mount').slice(4), [
    'mount -t squashfs -o ro $P/run/ramboot/image/rootfs.squashfs $P/run/ramboot/lower',
    'mount -o rw /dev/vdb1 $P/run/ramboot/rw',
    'mount -t overlay -o lowerdir=$P/run/ramboot/lower,upperdir=$P/run/ramboot/rw/ramboot/upper,workdir=$P/run/ramboot/rw/ramboot/work overlay $P/newroot',
  ]);
  assert.match(r.stdout, /^ramboot: mount: \/ is an overlay of the image \(read-only\) and ramboot\/ on \/dev\/vdb1 \(persist=LABEL=PERSIST\)$/m);

  const gone = sandbox('persist=LABEL=GONE');
  debianLikeRoot(gone);
  gone.stub('findfs', 'exit 1');
  const g = gone.run(MOUNT, { RAM_DEV_WAIT_CS: '20' });
  assert.deepEqual(errorLines(g.output), ['ramboot: error: persist=LABEL=GONE: no block device LABEL=GONE after 0.20s (there are: none; is its disk driver in the initrd?)']);
  assert.ok(!gone.callLines('mount').some((l) => l.includes('overlay')), 'no overlay without the persistent upper');
});

test('mount: the default overlay cap is 50% of RAM', () => {
  const sb = sandbox();
  debianLikeRoot(sb);
  sb.run(MOUNT);
  assert.ok(sb.callLines('mount').includes('mount -t tmpfs -o size=50%,mode=0755 tmpfs $P/run/ramboot/rw'));
});

test('mount: an image without the init is an error naming init= and the URL', () => {
  const sb = sandbox('init=/sbin/nope');
  debianLikeRoot(sb);
  const r = sb.run(MOUNT);
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: init=/sbin/nope: no such executable in the image from http://h/r.sqfs']);
});

test('mount: a squashfs that will not mount quotes mount\'s reason', () => {
  const sb = sandbox();
  sb.stub('mount', 'case "$*" in *squashfs*) echo "mount: mounting /dev/loop0 on /run/ramboot/lower failed: Invalid argument" >&2; exit 1 ;; esac');
  const r = sb.run(MOUNT);
  assert.deepEqual(errorLines(r.output), [
    'ramboot: error: mounting the image from http://h/r.sqfs (not a squashfs? squashfs and loop modules loaded?): mount: mounting /dev/loop0 on /run/ramboot/lower failed: Invalid argument',
  ]);
});

test('ram_resolve_in_root follows absolute and relative links inside the root, and gives up on loops', () => {
  const sb = sandbox();
  debianLikeRoot(sb);
  symlinkSync('../../sbin/init', sb.path('newroot/usr/sbin/relinit'));
  symlinkSync('loop2', sb.path('newroot/loop1'));
  symlinkSync('loop1', sb.path('newroot/loop2'));
  const r = sb.run(`for p in /sbin/init /usr/sbin/relinit //sbin/../sbin/./init /loop1; do
    if ram_resolve_in_root "$RAM_PREFIX/newroot" "$p"; then echo "$p -> $RAM_RESOLVED"; else echo "$p: loop"; fi
  done`);
  assert.equal(r.stdout, [
    '/sbin/init -> /usr/lib/systemd/systemd',
    '/usr/sbin/relinit -> /usr/lib/systemd/systemd',
    '//sbin/../sbin/./init -> /usr/lib/systemd/systemd',
    '/loop1: loop',
    '',
  ].join('\n'));
});

const FIXUPS = `ram_stage_setup >/dev/null; RAM_NEWROOT=$RAM_PREFIX/newroot RAM_NICS='eth0 eth1' RAM_NET_IFACE=eth0
RAM_NET_DNS='10.0.2.3' RAM_NET_SEARCH=lab RAM_NET_HOSTNAME=node1 RAM_NET_HOW=dhcp; ram_stage_fixups`;

test('fixups: ifupdown fragment for unconfigured NICs, networkd file, resolv.conf and hostname in the overlay', () => {
  const sb = sandbox();
  sb.write('newroot/etc/network/interfaces', 'source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\niface eth1 inet static\n');
  mkdirSync(sb.path('newroot/etc/systemd'), { recursive: true });
  const r = sb.run(FIXUPS);
  assert.equal(r.status, 0, r.output);
  assert.equal(
    sb.read('newroot/etc/network/interfaces.d/ramboot'),
    '# Written by ramboot at boot: this root came over the network, so every NIC asks for DHCP.\nauto eth0\niface eth0 inet dhcp\n',
  );
  assert.equal(
    sb.read('newroot/etc/systemd/network/90-ramboot-dhcp.network'),
    '# Written by ramboot at boot: this root came over the network, so every NIC asks for DHCP.\n[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n',
  );
  assert.equal(
    sb.read('newroot/etc/systemd/network/10-ramboot-boot.network'),
    '# Written by ramboot at boot: the initrd configured this NIC (eth0, dhcp); keep it.\n[Match]\nMACAddress=52:54:00:12:34:56\n\n[Network]\nDHCP=ipv4\nKeepConfiguration=yes\n',
    'the boot NIC by MAC: the file holds after udev renames it',
  );
  assert.equal(sb.read('newroot/etc/resolv.conf'), '# Written by ramboot from the dhcp setup of eth0.\nsearch lab\nnameserver 10.0.2.3\n');
  assert.equal(sb.read('newroot/etc/hostname'), 'node1\n');
  // The boot NIC is the only auto one: ifupdown-pre's udevadm settle has nothing to wait for.
  assert.equal(readlinkSync(sb.path('newroot/etc/systemd/system/ifupdown-pre.service')), '/dev/null');
  assert.match(r.stdout, /^ramboot: fixups: \/etc\/systemd\/system\/ifupdown-pre\.service -> \/dev\/null, \/etc\/network\/interfaces\.d\/ramboot, \/etc\/systemd\/network\/10-ramboot-boot\.network, \/etc\/systemd\/network\/90-ramboot-dhcp\.network, \/etc\/resolv\.conf, \/etc\/hostname$/m);
});

/** A root with ifupdown and ISC dhclient (/sbin -> usr/sbin, as usrmerge has it). */
function dhclientRoot(): Sandbox {
  const sb = sandbox();
  sb.write('newroot/etc/network/interfaces', 'source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n');
  mkdirSync(sb.path('newroot/usr/sbin'), { recursive: true });
  symlinkSync('usr/sbin', sb.path('newroot/sbin'));
  executable(sb, 'newroot/usr/sbin/dhclient');
  return sb;
}

/** interfaces.d/ramboot after DHCP on eth0 of eth0 and eth1, the boot NIC in class `boot`. */
function dhclientStanzas(boot: 'auto' | 'allow-ramboot'): string {
  const files = '-pf /run/dhclient.eth0.pid -lf /var/lib/dhcp/dhclient.eth0.leases -I -df /var/lib/dhcp/dhclient6.eth0.leases';
  return [
    '# Written by ramboot at boot: this root came over the network, so every NIC asks for DHCP.',
    `${boot} eth0`,
    'iface eth0 inet manual',
    `\tup /sbin/dhclient -4 -nw -v -i ${files} eth0`,
    `\tdown /sbin/dhclient -4 -v -i -r ${files} eth0`,
    'allow-hotplug eth1',
    'iface eth1 inet dhcp',
    '',
  ].join('\n');
}

test('fixups: with the root\'s ISC dhclient, the boot NIC\'s stanza runs it in the background (-nw), so ifup does not wait to re-ask for the lease the NIC holds', () => {
  const sb = dhclientRoot();
  const r = sb.run(FIXUPS);
  assert.equal(r.status, 0, r.output);
  assert.equal(sb.read('newroot/etc/network/interfaces.d/ramboot'), dhclientStanzas('auto'), 'no systemd init here: networking\'s ifup -a raises it');
});

test('fixups: under systemd the boot NIC is allow-ramboot, out of networking.service, and ramboot-boot-nic.service brings it up once the boot has settled', () => {
  const sb = dhclientRoot();
  mkdirSync(sb.path('newroot/etc/systemd/system'), { recursive: true });
  symlinkSync('/lib/systemd/systemd', sb.path('newroot/usr/sbin/init'));
  const r = sb.run(FIXUPS);
  assert.equal(r.status, 0, r.output);
  assert.equal(sb.read('newroot/etc/network/interfaces.d/ramboot'), dhclientStanzas('allow-ramboot'));
  const unit = sb.read('newroot/etc/systemd/system/ramboot-boot-nic.service');
  assert.match(unit, /^After=networking\.service network\.target multi-user\.target$/m, 'after the boot: its work is not the boot\'s');
  assert.match(unit, /^PartOf=networking\.service$/m, 'restarting networking (whose ifdown -a takes eth0 down too) brings it back');
  assert.match(unit, /^Type=idle$/m, 'its start job ends at the fork, so the boot does not wait for ifup');
  assert.match(unit, /^ExecStart=\/sbin\/ifup --allow=ramboot eth0$/m);
  assert.match(unit, /^ExecStop=-\/sbin\/ifdown eth0$/m);
  assert.equal(readlinkSync(sb.path('newroot/etc/systemd/system/multi-user.target.wants/ramboot-boot-nic.service')), '../ramboot-boot-nic.service');
  // No auto NIC but lo is left: ifupdown-pre's udevadm settle has nothing to wait for.
  assert.equal(readlinkSync(sb.path('newroot/etc/systemd/system/ifupdown-pre.service')), '/dev/null');
  assert.match(r.stdout, /^ramboot: fixups: .*\/etc\/network\/interfaces\.d\/ramboot, \/etc\/systemd\/system\/ramboot-boot-nic\.service, /m);

  // Another init runs `ifup -a` alone: the boot NIC stays auto and no unit is written.
  const sysv = sandbox();
  sysv.write('newroot/etc/network/interfaces', 'source /etc/network/interfaces.d/*\n');
  mkdirSync(sysv.path('newroot/etc/systemd/system'), { recursive: true });
  mkdirSync(sysv.path('newroot/sbin'), { recursive: true });
  executable(sysv, 'newroot/sbin/init');
  assert.equal(sysv.run(FIXUPS).status, 0);
  assert.match(sysv.read('newroot/etc/network/interfaces.d/ramboot'), /^auto eth0\niface eth0 inet dhcp$/m);
  assert.equal(sysv.exists('newroot/etc/systemd/system/ramboot-boot-nic.service'), false);
});

test('fixups: ifupdown-pre.service (udevadm settle) is kept when the image has auto NICs of its own or its own unit', () => {
  const own = sandbox();
  own.write('newroot/etc/network/interfaces', 'source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n');
  own.write('newroot/etc/network/interfaces.d/lab', 'auto eth1\niface eth1 inet static\n');
  assert.equal(own.run(FIXUPS).status, 0);
  assert.equal(own.exists('newroot/etc/systemd/system/ifupdown-pre.service'), false, 'eth1 may still be appearing: ifup -a needs the settle');
  const unit = sandbox();
  unit.write('newroot/etc/network/interfaces', 'source /etc/network/interfaces.d/*\n');
  unit.write('newroot/etc/systemd/system/ifupdown-pre.service', '[Service]\n');
  assert.equal(unit.run(FIXUPS).status, 0);
  assert.equal(unit.read('newroot/etc/systemd/system/ifupdown-pre.service'), '[Service]\n');
});

test('fixups: after DHCP the boot NIC is auto (networking.service starts dhclient on it), the others allow-hotplug', () => {
  const sb = sandbox();
  sb.write('newroot/etc/network/interfaces', 'source /etc/network/interfaces.d/*\n');
  assert.equal(sb.run(FIXUPS.replace("RAM_NET_IFACE=eth0", "RAM_NET_IFACE=eth1")).status, 0);
  assert.equal(
    sb.read('newroot/etc/network/interfaces.d/ramboot'),
    '# Written by ramboot at boot: this root came over the network, so every NIC asks for DHCP.\nallow-hotplug eth0\niface eth0 inet dhcp\nauto eth1\niface eth1 inet dhcp\n',
  );
});

test('fixups: a resolver-managed resolv.conf symlink is kept; a root without ifupdown or systemd gets neither', () => {
  const sb = sandbox();
  mkdirSync(sb.path('newroot/etc'), { recursive: true });
  symlinkSync('../run/systemd/resolve/stub-resolv.conf', sb.path('newroot/etc/resolv.conf'));
  const r = sb.run(FIXUPS);
  assert.equal(r.status, 0, r.output);
  assert.equal(sb.exists('newroot/etc/network'), false);
  assert.equal(sb.exists('newroot/etc/systemd'), false);
  assert.match(r.stdout, /^ramboot: fixups: \/etc\/hostname$/m);
});

test('fixups: an interfaces file that does not source interfaces.d gets a warning', () => {
  const sb = sandbox();
  sb.write('newroot/etc/network/interfaces', 'auto lo\niface lo inet loopback\n');
  const r = sb.run(FIXUPS);
  assert.match(r.stdout, /warning: fixups: the image's \/etc\/network\/interfaces has no source line/);
});

test('fixups: a static ip= boot is handed over as static: networkd gets the address, ifupdown a manual stanza, no DHCP anywhere', () => {
  const sb = sandbox();
  sb.write('newroot/etc/network/interfaces', 'source /etc/network/interfaces.d/*\n');
  mkdirSync(sb.path('newroot/etc/systemd'), { recursive: true });
  const r = sb.run(FIXUPS.replace('RAM_NET_HOW=dhcp', 'RAM_NET_HOW=static RAM_NET_IP=10.9.8.7 RAM_NET_PREFIX=16 RAM_NET_ROUTER=10.9.0.1'));
  assert.equal(r.status, 0, r.output);
  assert.equal(
    sb.read('newroot/etc/network/interfaces.d/ramboot'),
    '# Written by ramboot at boot: eth0 has 10.9.8.7/16 via 10.9.0.1 from ip=, set in the initrd; the kernel keeps it.\niface eth0 inet manual\n',
  );
  assert.equal(
    sb.read('newroot/etc/systemd/network/10-ramboot-boot.network'),
    '# Written by ramboot at boot: the initrd configured this NIC (eth0, static); keep it.\n[Match]\nMACAddress=52:54:00:12:34:56\n\n[Network]\nAddress=10.9.8.7/16\nGateway=10.9.0.1\nDNS=10.0.2.3\nDomains=lab\nKeepConfiguration=static\n',
  );
  assert.equal(sb.exists('newroot/etc/systemd/network/90-ramboot-dhcp.network'), false, 'no NIC is told to DHCP');
  assert.match(r.stdout, /^ramboot: fixups: \/etc\/network\/interfaces\.d\/ramboot, \/etc\/systemd\/network\/10-ramboot-boot\.network, \/etc\/resolv\.conf, \/etc\/hostname$/m);

  // No readable MAC (a NIC that is gone): matched by its kernel name instead.
  const nomac = sandbox();
  mkdirSync(nomac.path('newroot/etc/systemd'), { recursive: true });
  nomac.write('sys/class/net/eth0/address', 'garbage\n');
  assert.equal(nomac.run(FIXUPS).status, 0);
  assert.match(nomac.read('newroot/etc/systemd/network/10-ramboot-boot.network'), /^\[Match\]\nName=eth0$/m);
});

test('fixups: a root whose NetworkManager is enabled gets a 0600 keyfile for the boot NIC by MAC, and no ifupdown stanza', () => {
  const enableNm = (sb: ReturnType<typeof sandbox>) => {
    sb.write('newroot/etc/network/interfaces', 'source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n');
    mkdirSync(sb.path('newroot/etc/systemd/system/multi-user.target.wants'), { recursive: true });
    symlinkSync('/usr/lib/systemd/system/NetworkManager.service', sb.path('newroot/etc/systemd/system/multi-user.target.wants/NetworkManager.service'));
    sb.write('proc/sys/kernel/random/uuid', '0f3c2a5e-9b1d-4c7e-8a6f-1d2e3f4a5b6c\n');
  };
  const keyfile = 'newroot/etc/NetworkManager/system-connections/ramboot-boot.nmconnection';
  const dhcp = sandbox();
  enableNm(dhcp);
  const r = dhcp.run(FIXUPS);
  assert.equal(r.status, 0, r.output);
  assert.equal(
    dhcp.read(keyfile),
    [
      '# Written by ramboot at boot: the initrd configured this NIC (eth0, dhcp); keep it.',
      '[connection]', 'id=ramboot-boot', 'type=ethernet', 'autoconnect-priority=100', 'uuid=0f3c2a5e-9b1d-4c7e-8a6f-1d2e3f4a5b6c', '',
      '[ethernet]', 'mac-address=52:54:00:12:34:56', '',
      '[ipv4]', 'method=auto', '',
      '[ipv6]', 'method=auto', '',
    ].join('\n'),
  );
  // NetworkManager skips a keyfile that others can read.
  assert.equal(statSync(dhcp.path(keyfile)).mode & 0o777, 0o600);
  assert.equal(dhcp.exists('newroot/etc/network/interfaces.d/ramboot'), false, 'ifupdown would take the NIC from NetworkManager');
  assert.match(r.stdout, /^ramboot: fixups: \/etc\/NetworkManager\/system-connections\/ramboot-boot\.nmconnection, /m);

  const fixed = sandbox();
  enableNm(fixed);
  fixed.write('sys/class/net/eth0/address', 'garbage\n');
  fixed.write('proc/sys/kernel/random/uuid', '$(reboot)\n');
  const s = fixed.run(FIXUPS.replace('RAM_NET_HOW=dhcp', 'RAM_NET_HOW=static RAM_NET_IP=10.9.8.7 RAM_NET_PREFIX=16 RAM_NET_ROUTER=10.9.0.1'));
  assert.equal(s.status, 0, s.output);
  assert.equal(
    fixed.read(keyfile),
    [
      '# Written by ramboot at boot: the initrd configured this NIC (eth0, static); keep it.',
      '[connection]', 'id=ramboot-boot', 'type=ethernet', 'autoconnect-priority=100', 'interface-name=eth0', '',
      '[ethernet]', '',
      '[ipv4]', 'method=manual', 'address1=10.9.8.7/16,10.9.0.1', 'dns=10.0.2.3;', 'dns-search=lab;', '',
      '[ipv6]', 'method=ignore', '',
    ].join('\n'),
    'static as static; an unreadable MAC matches by name; a uuid that is not one is left out',
  );
});

test('fixups: with ip=off there is nothing to write', () => {
  const sb = sandbox();
  mkdirSync(sb.path('newroot/etc/systemd'), { recursive: true });
  const r = sb.run('ram_stage_setup >/dev/null; RAM_NEWROOT=$RAM_PREFIX/newroot RAM_NET_IFACE=; ram_stage_fixups');
  assert.match(r.stdout, /^ramboot: fixups: nothing to write$/m);
  assert.equal(sb.exists('newroot/etc/systemd/network'), false);
});

test('fixups: a root with sshd and no host keys gets units that make them (ECDSA and RSA at idle priority, not holding the boot) and a drop-in ordering sshd after ed25519', () => {
  const FIX = 'ram_stage_setup >/dev/null; RAM_NEWROOT=$RAM_PREFIX/newroot RAM_NET_IFACE=; ram_stage_fixups';
  // A root with sshd and systemd's ssh.service.
  const withSshd = (unit = '') => {
    const root = sandbox();
    mkdirSync(root.path('newroot/usr/sbin'), { recursive: true });
    mkdirSync(root.path('newroot/lib/systemd/system'), { recursive: true });
    mkdirSync(root.path('newroot/etc/ssh'), { recursive: true });
    executable(root, 'newroot/usr/sbin/sshd');
    writeFileSync(root.path('newroot/lib/systemd/system/ssh.service'), unit);
    return root;
  };
  const sb = withSshd('[Service]\nExecStartPre=/usr/sbin/sshd -t\n');
  writeFileSync(sb.path('newroot/etc/ssh/sshd_config'), '#HostKey /etc/ssh/ssh_host_rsa_key\n#HostKey /etc/ssh/ssh_host_ed25519_key\n', 'utf8'); // Debian's defaults, commented
  const r = sb.run(FIX);
  assert.equal(r.status, 0, r.output);
  assert.equal(
    sb.read('newroot/etc/systemd/system/ramboot-ssh-host-keys.service'),
    [
      '# Written by ramboot at boot: the image has no host keys, so each boot makes its own.',
      '[Unit]',
      'Description=ssh host keys for this boot (ed25519)',
      '',
      '[Service]',
      'Type=oneshot',
      `ExecStart=/bin/sh -c '[ -s /etc/ssh/ssh_host_ed25519_key.pub ] && echo "ed25519 host key: made in the initrd" || { rm -f /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub; ssh-keygen -q -N "" -t ed25519 -f /etc/ssh/ssh_host_ed25519_key; }'`,
      '',
    ].join('\n'),
    'default dependencies: it starts at basic.target, not after network.target as sshd does; no ssh-keygen in this root, so the initrd made none',
  );
  assert.deepEqual(sb.calls('chroot'), []);
  const idle = sb.read('newroot/etc/systemd/system/ramboot-ssh-idle-host-keys.service');
  assert.match(idle, /^Type=simple$/m, 'a simple service: its start job ends at the fork, so the boot does not wait for the keys');
  assert.match(idle, /^CPUSchedulingPolicy=idle$/m);
  assert.match(idle, /^After=ramboot-ssh-host-keys\.service multi-user\.target$/m, 'not beside the boot\'s own idle-class units');
  assert.doesNotMatch(idle, /\$(?!\$)/, 'no $ that systemd would expand in ExecStart=');
  // Run its ExecStart as systemd would, with /etc/ssh inside the sandbox and stubs that say what
  // they were asked: ECDSA, reload, RSA, reload; and a second start makes nothing.
  const script = /^ExecStart=\/bin\/sh -c '(.*)'$/m.exec(idle)?.[1];
  assert.ok(script, idle);
  sb.write('bin/ssh-keygen', `#!${BUSYBOX} sh\nwhile [ $# -gt 0 ]; do case $1 in -t) echo "keygen $2" >>"$RAM_PREFIX/log"; shift;; -f) : >"$2"; shift;; esac; shift; done\n`);
  sb.write('bin/systemctl', `#!${BUSYBOX} sh\necho "systemctl $*" >>"$RAM_PREFIX/log"\n`);
  chmodSync(sb.path('bin/ssh-keygen'), 0o755);
  chmodSync(sb.path('bin/systemctl'), 0o755);
  const runIdle = `PATH="$RAM_PREFIX/bin:$PATH"; ${script.replaceAll('/etc/ssh', '$RAM_PREFIX/newroot/etc/ssh')}; echo rc=$?`;
  assert.match(sb.run(runIdle).stdout, /^rc=0$/m);
  assert.equal(sb.read('log'), 'keygen ecdsa\nsystemctl --no-block try-reload-or-restart ssh.service\nkeygen rsa\nsystemctl --no-block try-reload-or-restart ssh.service\n');
  assert.match(sb.run(runIdle).stdout, /^rc=0$/m);
  assert.equal(sb.read('log').split('\n').length, 5, 'the keys are there: no second ssh-keygen, no reload');
  assert.equal(
    sb.read('newroot/etc/systemd/system/ssh.service.d/ramboot-host-keys.conf'),
    '# Written by ramboot at boot: sshd needs the keys ramboot-ssh-host-keys.service makes.\n[Unit]\nWants=ramboot-ssh-host-keys.service ramboot-ssh-idle-host-keys.service\nAfter=ramboot-ssh-host-keys.service\n',
  );
  assert.match(r.stdout, /^ramboot: fixups: \/etc\/systemd\/system\/ramboot-ssh-host-keys\.service, \/etc\/systemd\/system\/ramboot-ssh-idle-host-keys\.service, \/etc\/systemd\/system\/ssh\.service\.d\/ramboot-host-keys\.conf$/m);

  // An sshd_config naming its HostKey files may want any kind first: one unit, ssh-keygen -A, as before the split.
  const named = withSshd();
  named.write('newroot/etc/ssh/sshd_config.d/keys.conf', '# only RSA\nHostKey /etc/ssh/ssh_host_rsa_key\n');
  const n = named.run(FIX);
  assert.equal(n.status, 0, n.output);
  assert.match(named.read('newroot/etc/systemd/system/ramboot-ssh-host-keys.service'), /^ExecStart=\/usr\/bin\/ssh-keygen -A$/m);
  assert.equal(named.exists('newroot/etc/systemd/system/ramboot-ssh-idle-host-keys.service'), false);
  assert.equal(
    named.read('newroot/etc/systemd/system/ssh.service.d/ramboot-host-keys.conf'),
    '# Written by ramboot at boot: sshd needs the keys ramboot-ssh-host-keys.service makes.\n[Unit]\nWants=ramboot-ssh-host-keys.service\nAfter=ramboot-ssh-host-keys.service\n',
  );

  // Keys already in the image (a deliberate choice): left alone.
  const keyed = withSshd();
  keyed.write('newroot/etc/ssh/ssh_host_ed25519_key', 'x');
  assert.equal(keyed.run(FIX).status, 0);
  assert.equal(keyed.exists('newroot/etc/systemd/system/ssh.service.d'), false);

  // sshd without systemd: a warning saying what to do.
  const sysv = sandbox();
  mkdirSync(sysv.path('newroot/usr/sbin'), { recursive: true });
  executable(sysv, 'newroot/usr/sbin/sshd');
  assert.match(sysv.run(FIX).stdout, /^ramboot: warning: fixups: the image has sshd but no ssh host keys and no systemd ssh unit: run ssh-keygen -A before sshd starts$/m);
});

test('fixups: the root\'s ssh-keygen makes the ed25519 key in the background while systemd starts, and the unit waits for it (or makes one itself)', () => {
  const FIX = 'ram_stage_setup >/dev/null; RAM_NEWROOT=$RAM_PREFIX/newroot RAM_NET_IFACE=; ram_stage_fixups';
  const sb = sandbox();
  for (const d of ['newroot/usr/sbin', 'newroot/usr/bin', 'newroot/lib/systemd/system', 'newroot/etc/ssh']) mkdirSync(sb.path(d), { recursive: true });
  executable(sb, 'newroot/usr/sbin/sshd');
  executable(sb, 'newroot/usr/bin/ssh-keygen');
  writeFileSync(sb.path('newroot/lib/systemd/system/ssh.service'), '');
  // chroot stands in for the root's ssh-keygen: a second, then the private key and the .pub.
  sb.stub('chroot', 'command sleep 1; echo private >"$1$9"; echo public >"$1$9.pub"');
  sb.write('bin/ssh-keygen', `#!${BUSYBOX} sh\necho "unit keygen $*" >>"$RAM_PREFIX/log"\n`);
  chmodSync(sb.path('bin/ssh-keygen'), 0o755);
  // The unit's ExecStart as sh gets it from systemd ($$ is $), with /etc/ssh in the sandbox and the
  // real sleep (the sandbox's is a fake clock); run right after the fixups, while the background
  // ssh-keygen still has most of its second to go.
  const unitScript = String.raw`sed -n "s/^ExecStart=\/bin\/sh -c '\(.*\)'$/\1/p" "$RAM_PREFIX/newroot/etc/systemd/system/ramboot-ssh-host-keys.service" | sed "s/[$][$]/$/g; s#/etc/ssh#$RAM_PREFIX/newroot/etc/ssh#g; s/sleep 0/command sleep 0/"`;
  const runUnit = `PATH="$RAM_PREFIX/bin:$PATH"; eval "$(${unitScript})"; echo rc=$?`;
  const r = sb.run(`${FIX}; ${runUnit}`);
  assert.equal(r.status, 0, r.output);
  const pid = /^ramboot: fixups: making the ed25519 ssh host key in the background \(PID (\d+)\) while systemd starts$/m.exec(r.stdout)?.[1];
  assert.ok(pid, r.stdout);
  assert.ok(sb.read('newroot/etc/systemd/system/ramboot-ssh-host-keys.service').includes(`</proc/${pid}/stat`));
  assert.match(r.stdout, /^ed25519 host key: made in the initrd$/m, 'it waited for the background ssh-keygen');
  assert.match(r.stdout, /^rc=0$/m);
  assert.equal(sb.read('newroot/etc/ssh/ssh_host_ed25519_key.pub'), 'public\n');
  assert.equal(sb.exists('log'), false, 'the unit made no key of its own');
  assert.deepEqual(sb.callLines('chroot'), ['chroot $P/newroot /usr/bin/ssh-keygen -q -N  -t ed25519 -f /etc/ssh/ssh_host_ed25519_key']);

  // The background one left no .pub (it failed, or was cut off): the unit makes the key itself.
  sb.write('newroot/etc/ssh/ssh_host_ed25519_key.pub', '');
  const again = sb.run(runUnit);
  assert.match(again.stdout, /^rc=0$/m, again.output);
  assert.equal(sb.read('log'), 'unit keygen -q -N  -t ed25519 -f ' + sb.path('newroot/etc/ssh/ssh_host_ed25519_key') + '\n');
  assert.equal(sb.exists('newroot/etc/ssh/ssh_host_ed25519_key'), false, 'the half-made key was removed first (ssh-keygen would ask before overwriting)');
});

test('switch: /dev /proc /sys /run moved into the new root (made if missing), then switch_root with init\'s arguments', () => {
  const sb = sandbox('init=/sbin/init');
  for (const d of ['dev', 'proc', 'sys']) mkdirSync(sb.path(`newroot/${d}`));
  const r = sb.run('ram_stage_setup >/dev/null; RAM_NEWROOT=$RAM_PREFIX/newroot; ram_stage_switch single -- x; echo not reached');
  assert.equal(r.status, 0, r.output);
  assert.ok(sb.exists('newroot/run'), 'the missing /run was made (in the overlay)');
  assert.deepEqual(sb.callLines('mount', 'switch_root').slice(4), [
    'mount -o move $P/dev $P/newroot/dev',
    'mount -o move $P/proc $P/newroot/proc',
    'mount -o move $P/sys $P/newroot/sys',
    'mount -o move $P/run $P/newroot/run',
    'switch_root $P/newroot /sbin/init single -- x',
  ]);
  assert.match(r.stdout, /^ramboot: switching to \/sbin\/init, 12\.34s after boot$/m);
  assert.doesNotMatch(r.stdout, /not reached/);
});

test('switch: the mounts under /run/ramboot move to /run/initramfs/ramboot (systemd keeps those), old paths become symlinks', () => {
  const sb = sandbox('init=/sbin/init');
  for (const d of ['dev', 'proc', 'sys', 'run']) mkdirSync(sb.path(`newroot/${d}`), { recursive: true });
  for (const d of ['image', 'lower', 'rw', 'layers', 'net']) mkdirSync(sb.path(`run/ramboot/${d}`), { recursive: true });
  const P = sb.prefix;
  sb.write('proc/mounts', [
    `tmpfs ${P}/run tmpfs rw 0 0`,
    `tmpfs ${P}/run/ramboot/image tmpfs rw,size=52000k 0 0`,
    `/dev/loop0 ${P}/run/ramboot/lower squashfs ro 0 0`,
    `tmpfs ${P}/run/ramboot/rw tmpfs rw 0 0`,
    `tmpfs ${P}/run/ramboot/layers tmpfs rw 0 0`,
    `/dev/loop1 ${P}/run/ramboot/layers/1.d squashfs ro 0 0`,
    `overlay ${P}/newroot overlay rw,lowerdir=${P}/run/ramboot/lower 0 0`,
    '',
  ].join('\n'));
  const r = sb.run('ram_stage_setup >/dev/null; RAM_NEWROOT=$RAM_PREFIX/newroot; ram_stage_switch');
  assert.equal(r.status, 0, r.output);
  const moves = sb.callLines('mount').filter((l) => l.includes('ramboot'));
  assert.deepEqual(moves, [
    'mount -o move $P/run/ramboot/image $P/run/initramfs/ramboot/image',
    'mount -o move $P/run/ramboot/lower $P/run/initramfs/ramboot/lower',
    'mount -o move $P/run/ramboot/rw $P/run/initramfs/ramboot/rw',
    'mount -o move $P/run/ramboot/layers $P/run/initramfs/ramboot/layers',
  ], 'each top-level mount once (layers/1.d goes with layers), before /run moves');
  for (const name of ['image', 'lower', 'rw', 'layers']) {
    assert.equal(readlinkSync(sb.path(`run/ramboot/${name}`)), `../initramfs/ramboot/${name}`);
  }
  assert.ok(statSync(sb.path('run/ramboot/net')).isDirectory(), 'a plain directory is left alone');
  const order = sb.callLines('mount', 'switch_root');
  assert.ok(order.indexOf('mount -o move $P/run/ramboot/layers $P/run/initramfs/ramboot/layers') < order.indexOf('mount -o move $P/run $P/newroot/run'));
  assert.match(r.stdout, /^ramboot: mount: \/run\/ramboot\/\{image lower rw layers\} now under \/run\/initramfs\/ramboot, which systemd keeps until the end$/m);
});
