// bond= and vlan= as `ramboot cmdline lint` checks them: the same rules, in the same words, as
// the boot script's ram_parse_bond (initrd-scripts/lib/net-bond.sh) and ram_parse_vlan
// (lib/net-vlan.sh), which test/fixtures/cmdline-invalid-cases.json holds both sides to.

/** A network interface name as the boot script takes it (1-15 of A-Z a-z 0-9 _ . -). */
export const isIfname = (name: string) => /^[A-Za-z0-9_.-]{1,15}$/.test(name) && name !== '.' && name !== '..';

/** As the sh side's ram_check_uint: no leading zero, at most `max`. */
const isUint = (v: string, max: number) => /^(0|[1-9]\d{0,17})$/.test(v) && Number(v) <= max;

const WORDS: Record<string, readonly string[]> = {
  mode: ['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb', '0', '1', '2', '3', '4', '5', '6'],
  use_carrier: ['0', '1'],
  all_slaves_active: ['0', '1'],
  xmit_hash_policy: ['layer2', 'layer2+3', 'layer3+4', 'encap2+3', 'encap3+4', 'vlan+srcmac'],
  lacp_rate: ['slow', 'fast'],
  fail_over_mac: ['none', 'active', 'follow'],
  primary_reselect: ['always', 'better', 'failure'],
  ad_select: ['stable', 'bandwidth', 'count'],
};
const NUMBERS: Record<string, number> = { miimon: 600000, updelay: 600000, downdelay: 600000, arp_interval: 600000, num_grat_arp: 255, num_unsol_na: 255, resend_igmp: 255, min_links: 1024 };

export interface Bond {
  name: string;
  slaves: string[];
  /** name=value, in the order given, with miimon=100 added when no link monitor was. */
  options: string[];
  mtu?: number;
}

/** Why bond= is not valid, or the bond it describes. */
export function parseBond(value: string): Bond | string {
  const fields = value.split(':');
  if (fields.length > 4) return 'more than 4 fields (use <name>:<slaves>:<options>:<mtu>)';
  const [name = '', slaveList = '', optionList = '', mtu = ''] = fields;
  if (!isIfname(name)) return `'${name}' is not an interface name (1-15 of A-Z a-z 0-9 _ . -)`;
  const slaves: string[] = [];
  for (const slave of (slaveList || 'eth0,eth1').split(',')) {
    if (!isIfname(slave)) return `slave '${slave}' is not an interface name`;
    if (slaves.includes(slave) || slave === name) return `slave ${slave} is given twice or is the bond itself`;
    slaves.push(slave);
  }
  const options: string[] = [];
  for (const opt of (optionList || 'mode=balance-rr').split(',')) {
    const m = /^([^=]+)=(.+)$/.exec(opt);
    if (!m) return `option '${opt}' is not name=value`;
    const [, key, v] = m as unknown as [string, string, string];
    if (key === 'primary') {
      if (!slaves.includes(v)) return `primary=${v} is not one of the slaves (${slaves.join(' ')})`;
    } else if (key in NUMBERS) {
      if (!isUint(v, NUMBERS[key]!)) return NUMBERS[key] === 600000 ? `${key}=${v}: use milliseconds 0..600000` : `${key}=${v}: use 0..${NUMBERS[key]}`;
    } else if (key in WORDS) {
      if (!WORDS[key]!.includes(v)) return `${key}=${v}: use ${WORDS[key]!.filter((w) => !/^\d$/.test(w)).join(', ')}`;
    } else {
      return `unknown bonding option '${key}' (known: mode ${Object.keys(NUMBERS).join(' ')} ${Object.keys(WORDS).filter((k) => k !== 'mode').join(' ')} primary)`;
    }
    options.push(opt);
  }
  if (!options.some((o) => /^(miimon|arp_interval)=/.test(o))) options.push('miimon=100');
  if (mtu !== '' && !(isUint(mtu, 65535) && Number(mtu) >= 68)) return `mtu '${mtu}' is not 68..65535`;
  return { name, slaves, options, ...(mtu ? { mtu: Number(mtu) } : {}) };
}

export function checkBond(value: string): string | undefined {
  const r = parseBond(value);
  return typeof r === 'string' ? r : undefined;
}

export interface Vlan {
  name: string;
  phys: string;
  id: number;
}

/** Why vlan= is not valid, or the VLAN it describes (the id comes from the name, as vconfig names them). */
export function parseVlan(value: string): Vlan | string {
  const fields = value.split(':');
  if (fields.length !== 2 || fields[1] === '') return 'use <name>:<phys>, e.g. eth0.5:eth0 or vlan5:eth0';
  const [name, phys] = fields as [string, string];
  if (!isIfname(name) || !isIfname(phys)) return `'${name}' or '${phys}' is not an interface name (1-15 of A-Z a-z 0-9 _ . -)`;
  const digits = name.startsWith(`${phys}.`) ? name.slice(phys.length + 1) : name.startsWith('vlan') ? name.slice(4) : '';
  const id = /^\d{1,4}$/.test(digits) ? Number(digits) : 0;
  if (id < 1 || id > 4094) return `the name must carry the VLAN id 1..4094 as ${phys}.<id> or vlan<id>`;
  return { name, phys, id };
}

export function checkVlan(value: string): string | undefined {
  const r = parseVlan(value);
  return typeof r === 'string' ? r : undefined;
}
