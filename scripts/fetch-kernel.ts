import { fetchDebianKernel } from '../src/lab/debian-kernel.ts';
console.log(JSON.stringify(await fetchDebianKernel((process.argv[2] ?? 'cloud-amd64') as any)));
