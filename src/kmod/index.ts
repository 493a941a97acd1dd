// Kernel module resolution from the TARGET root's modules tree, in TypeScript only: no host
// depmod/modprobe (the host's kmod may be older than the target kernel, or absent).
export type { ModuleIndex, ModuleInfo, ModuleRequest, Resolution, ResolvedModule } from './types.js';
export { readModuleIndex, type ReadIndexOptions } from './read-index.js';
export { readModuleFiles } from './read-modules.js';
export { resolveModules, type ResolveOptions } from './resolve.js';
export { renderModuleIndexFiles } from './render-index-files.js';
export { packedModulePath, readModuleFile, moduleCompression, moduleNameOfPath, type ModuleCompression } from './module-file.js';
export { parseModinfo, readModinfo, canonicalModuleName, type Modinfo } from './modinfo.js';
export { readElfSection, bufferReader, type ReadAt } from './elf-section.js';
export { globMatch, normalizeAlias } from './alias.js';
