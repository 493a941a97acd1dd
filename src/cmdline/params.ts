// The one table of boot parameters. The builder renders cmdline.txt and /etc/ram.conf from it,
// the CLI explains and lints with it, the README's parameter table is generated from it, and the
// boot script (initrd-scripts/) reads the name -> variable map, the defaults and each
// parameter's check (type, range, choices: RAM_PARAM_RULES) out of /etc/ram.conf, so the two
// sides cannot disagree about a name, a default or what a valid value is.

export type ParamType =
  | 'flag' // y/n; a bare `name` means y
  | 'int'
  | 'string'
  | 'url-list' // comma-separated, tried in order
  | 'sha256' // 64 hex digits, or off
  | 'size' // bytes with K/M/G suffix, or N%
  | 'path'
  | 'device' // a filesystem: LABEL=name, UUID=uuid or a kernel device name (sdb1)
  | 'proxy' // http://HOST[:PORT] of a forward proxy (HOST a name, IPv4 or [IPv6])
  | 'bond' // dracut's <name>[:<slaves>[:<options>[:<mtu>]]] (src/cmdline/net-virtual.ts)
  | 'vlan' // dracut's <name>:<phys>, the id in the name (src/cmdline/net-virtual.ts)
  | 'enum';

export interface BootParam {
  /** The name on the kernel command line. */
  name: string;
  /** The shell variable the boot script keeps it in (without the RAM_ prefix). */
  shVar: string;
  type: ParamType;
  /** Effective value when absent; '' means unset. */
  default: string;
  /** One sentence for `explain` and the README. */
  doc: string;
  /** 'kernel' marks parameters the kernel owns that the boot script also reads. */
  owner: 'ramboot' | 'kernel';
  aliases?: readonly string[];
  /** An enum's choices; for an int, words accepted besides the numbers (zram_devices=cores). */
  values?: readonly string[];
  /** An int's range, both ends included. */
  min?: number;
  max?: number;
  /** Written into the default cmdline.txt with this value. */
  cmdlineTxt?: string;
}

/** The boot script's stages in the order it runs them (ram.conf's RAM_STAGES), each timed in
 * report.json's "stages"; initrddebug=<stage> stops before one, hooks' stage scripts attach
 * before and after them. */
export const BOOT_STAGES = ['modules', 'net', 'fetch', 'zram', 'mount', 'fixups', 'switch'] as const;

/** Where initrddebug= can stop and stage scripts attach: the stages, plus `verify`, which was a
 * stage until the image's sha256 came to be taken while it downloads (issue 16). It is now a
 * point at the end of fetch (lib/verify.sh, ram_verify_root): the image complete in RAM, its
 * digest not yet compared, nothing mounted. So initrddebug=verify and before-/after-verify
 * scripts keep working, with no timing of their own. */
export const BOOT_POINTS = ['modules', 'net', 'fetch', 'verify', 'zram', 'mount', 'fixups', 'switch'] as const;

export const BOOT_PARAMS: readonly BootParam[] = [
  {
    name: 'boot',
    shVar: 'BOOT',
    type: 'enum',
    values: ['ram'],
    default: 'ram',
    doc: 'Selects the ram boot script; any other value stops the boot with an error.',
    owner: 'ramboot',
    cmdlineTxt: 'ram',
  },
  {
    name: 'rooturl',
    shVar: 'ROOTURL',
    type: 'url-list',
    default: '',
    doc: 'Where to fetch rootfs.squashfs: http://, https:// or tftp:// URLs, or dev://LABEL=name/path (also UUID=, or a device name like sdb1) for a local disk, comma-separated mirrors (each machine starts on its own one and goes round the list, see fetch_order=); a relative one resolves against the DHCP boot file\'s directory (a URL, or TFTP on the next-server), else http://<next-server>/.',
    owner: 'ramboot',
    aliases: ['fetch'],
  },
  {
    name: 'rootsha256',
    shVar: 'ROOTSHA256',
    type: 'sha256',
    default: '',
    doc: 'SHA-256 the fetched image must have; the builder bakes the matching value into the initrd. off boots an image nobody checked (an empty rootsha256= is an error, not a way to drop the pin).',
    owner: 'ramboot',
  },
  {
    name: 'overlays',
    shVar: 'OVERLAYS',
    type: 'url-list',
    default: '',
    doc: 'Extra layers between the root image and the writable upper, comma-separated, the last on top: each a URL of the forms rooturl= takes, to a squashfs (mounted read-only) or a .tar.gz/.tgz (unpacked into RAM), fetched into RAM. rootsha256= does NOT cover them; add #sha256=HEX to a URL to have that layer checked.',
    owner: 'ramboot',
  },
  {
    name: 'toram',
    shVar: 'TORAM',
    type: 'flag',
    default: 'y',
    doc: 'n keeps a dev:// image on its disk (mounted read-only for the life of the boot) instead of copying it to RAM; network images are always copied.',
    owner: 'ramboot',
  },
  {
    name: 'fetch_stall',
    shVar: 'FETCH_STALL',
    type: 'int',
    min: 1,
    max: 3600,
    default: '20',
    doc: 'Seconds an HTTP(S) download may go without a byte before it is stopped and retried (resuming where it stopped), then the next mirror; busybox wget alone would wait 900 s. With the curl hook it is also the connect timeout, and curl, which averages its speed, stops a silent transfer about 6 s later.',
    owner: 'ramboot',
  },
  {
    name: 'fetch_tries',
    shVar: 'FETCH_TRIES',
    type: 'int',
    min: 1,
    max: 100,
    default: '4',
    doc: 'Tries per mirror before the next one (an HTTP size probe answered 503 or 429 gets as many of its own); raise it so a fleet booting at once rides out a busy server.',
    owner: 'ramboot',
  },
  {
    name: 'fetch_backoff_max',
    shVar: 'FETCH_BACKOFF_MAX',
    type: 'int',
    min: 1,
    max: 3600,
    default: '30',
    doc: 'Longest wait between two tries, in seconds: the waits double from 1 s up to it, each drawn at random (seeded by the boot NIC\'s MAC) from its upper half, and a server\'s Retry-After is cut to it.',
    owner: 'ramboot',
  },
  {
    name: 'fetch_order',
    shVar: 'FETCH_ORDER',
    type: 'enum',
    values: ['rotate', 'listed'],
    default: 'rotate',
    doc: 'rotate: each machine starts on a mirror of rooturl= chosen by its MAC and goes on round the list, so a fleet spreads over the mirrors; listed: always in the order given (a preferred server first).',
    owner: 'ramboot',
  },
  {
    name: 'ip',
    shVar: 'IP',
    type: 'string',
    default: 'dhcp',
    doc: 'Network setup: dhcp; auto6 (IPv6 SLAAC) or dhcp6 (DHCPv6, needs a busybox with udhcpc6); a comma list such as dhcp,auto6 (dual stack); or the kernel form <client>:<server>:<gw>:<netmask>:<host>:<dev>:<autoconf>, with IPv6 addresses in brackets ([fd00::5]::[fd00::1]:64::eth0:none) and autoconf also auto6 or dhcp6.',
    owner: 'ramboot',
    cmdlineTxt: 'dhcp',
  },
  {
    name: 'proxy',
    shVar: 'PROXY',
    type: 'proxy',
    default: '',
    doc: 'Forward proxy for the http:// and https:// fetches, http://HOST[:PORT]; busybox wget sends https:// requests to it as plain GETs (no CONNECT), so https through a tunnelling-only proxy needs the curl hook.',
    owner: 'ramboot',
    aliases: ['http_proxy'],
  },
  {
    name: 'bond',
    shVar: 'BOND',
    type: 'bond',
    default: '',
    doc: 'A bond to boot over, dracut\'s <name>:<slaves>:<options>[:<mtu>], e.g. bond0:eth0,eth1:mode=active-backup,miimon=100 (slaves default to eth0,eth1, the mode to balance-rr; miimon=100 is added when no link monitor is given); ip= then configures the bond. Needs the bonding hook (--hook bonding).',
    owner: 'ramboot',
  },
  {
    name: 'vlan',
    shVar: 'VLAN',
    type: 'vlan',
    default: '',
    doc: 'A tagged VLAN to boot over, dracut\'s <name>:<phys> with the id in the name: eth0.5:eth0 or vlan0005:eth0 (the phys may be the bond=); ip= then configures the VLAN interface. Needs the vlan hook (--hook vlan).',
    owner: 'ramboot',
  },
  {
    name: 'BOOTIF',
    shVar: 'BOOTIF',
    type: 'string',
    default: '',
    doc: 'The boot NIC by MAC, as PXE/iPXE pass it (01-aa-bb-cc-dd-ee-ff): DHCP runs on that NIC only, unless ip= names a device.',
    owner: 'ramboot',
  },
  {
    name: 'zram_size_pct',
    shVar: 'ZRAM_SIZE_PCT',
    type: 'int',
    min: 0,
    max: 400,
    default: '50',
    doc: 'Compressed swap on zram, set up inside the initrd, as a percentage of RAM; 0 turns it off.',
    owner: 'ramboot',
    cmdlineTxt: '50',
  },
  {
    name: 'zram_algo',
    shVar: 'ZRAM_ALGO',
    type: 'enum',
    values: ['lzo-rle', 'lzo', 'lz4', 'zstd'],
    default: 'lzo-rle',
    doc: 'Compressor for the zram swap devices. Left at the default, the first of lzo-rle, lzo, lz4, zstd the kernel offers, silently; one given here that the kernel lacks falls back in that order with a warning.',
    owner: 'ramboot',
  },
  {
    name: 'zram_devices',
    shVar: 'ZRAM_DEVICES',
    type: 'int',
    min: 1,
    max: 999,
    values: ['cores'],
    default: '1',
    doc: 'How many zram devices share the zram_size_pct swap: a number (1-999), or cores for one per CPU.',
    owner: 'ramboot',
  },
  {
    name: 'overlay_size',
    shVar: 'OVERLAY_SIZE',
    type: 'size',
    default: '50%',
    doc: 'Cap of the tmpfs that holds the writable overlay upper, in bytes (K/M/G) or % of RAM.',
    owner: 'ramboot',
  },
  {
    name: 'persist',
    shVar: 'PERSIST',
    type: 'string',
    default: '',
    doc: 'Keep changes to / across boots: the overlay upper goes in ramboot/ on this filesystem (LABEL=name, UUID=uuid or a device name like sdb1; ext4 recommended) instead of a tmpfs.',
    owner: 'ramboot',
  },
  {
    name: 'cache',
    shVar: 'CACHE',
    type: 'device',
    default: '',
    doc: 'A local filesystem (LABEL=name, UUID=uuid or a device name like sdb1; ext4 or vfat) that keeps the last root image that verified, in ramboot-cache/: the image rootsha256= pins is taken from there and the network is used only when it is absent or damaged; a missing, read-only or full disk is a warning, never a failed boot.',
    owner: 'ramboot',
  },
  {
    name: 'initrddebug',
    shVar: 'INITRDDEBUG',
    type: 'enum',
    values: ['y', 'n', 'ssh', ...BOOT_POINTS],
    default: 'n',
    doc: `y opens a shell just before switch_root; a stage name (${BOOT_POINTS.join(', ')}) opens it before that stage (verify: at the end of fetch, the image downloaded but not yet accepted); ssh starts dropbear once the network is up (an initrd built with --ssh-key) and keeps a failed boot up for ssh root@ instead of rebooting.`,
    owner: 'ramboot',
  },
  {
    name: 'ramdebug',
    shVar: 'RAMDEBUG',
    type: 'flag',
    default: 'n',
    doc: 'Trace every command of the boot script (sh -x) on the console.',
    owner: 'ramboot',
  },
  {
    name: 'init',
    shVar: 'INIT',
    type: 'path',
    default: '/sbin/init',
    doc: 'Program run as PID 1 in the new root after switch_root.',
    owner: 'kernel',
  },
  {
    name: 'panic',
    shVar: 'PANIC',
    type: 'int',
    min: -1,
    max: 86400,
    default: '0',
    doc: 'Seconds before the kernel reboots after a panic (a failed boot ends in one); 0 waits forever.',
    owner: 'kernel',
    cmdlineTxt: '10',
  },
];

export function findParam(name: string): BootParam | undefined {
  const key = normalizeParamName(name);
  return BOOT_PARAMS.find((p) => p.name === key || p.aliases?.includes(key));
}

/** Like the kernel does for module parameters, `-` and `_` are the same in a name. */
export function normalizeParamName(name: string): string {
  return name.replaceAll('-', '_');
}
