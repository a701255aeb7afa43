#!/usr/bin/env node
// Locates the libtorch that the addon builds against and prints gyp fragments.
// Order: $LIBTORCH (a libtorch directory) → the torch package of an importable Python
// (python3, then /usr/bin/python3) → Debian's libtorch-dev under /usr.
// Usage: node native/find-libtorch.cjs include|libdirs|libs|defines|ldflags|describe
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

function fromDir(root, source, cxx11abi) {
  const include = [path.join(root, 'include'), path.join(root, 'include', 'torch', 'csrc', 'api', 'include')];
  const libdir = path.join(root, 'lib');
  if (!fs.existsSync(path.join(include[0], 'ATen'))) return null;
  if (cxx11abi === undefined) cxx11abi = detectAbi(libdir);
  return { source, root, include, libdir, cxx11abi };
}

// The ABI flag is part of the symbol names in libc10: new-ABI builds mangle std::string as __cxx11.
function detectAbi(libdir) {
  try {
    const lib = fs.readdirSync(libdir).find((f) => /^libc10\.so/.test(f));
    if (!lib) return 1;
    const out = execFileSync('nm', ['-D', '--defined-only', path.join(libdir, lib)], { maxBuffer: 1 << 28 }).toString();
    return out.includes('__cxx11') ? 1 : 0;
  } catch {
    return 1;
  }
}

function fromPython() {
  const script = 'import os,torch;print(os.path.dirname(torch.__file__));print(int(torch._C._GLIBCXX_USE_CXX11_ABI));print(int(torch.cuda.is_available() or bool(torch.version.cuda)))';
  for (const py of ['python3', '/usr/bin/python3']) {
    try {
      const [dir, abi, cuda] = execFileSync(py, ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 60000 })
        .toString().trim().split('\n');
      const found = fromDir(dir, `python torch (${py})`, Number(abi));
      if (found) {
        // Debian's python3-torch only links into /usr; report the real system layout instead.
        if (fs.realpathSync(path.join(dir, 'include', 'ATen')).startsWith('/usr/include')) return fromSystem();
        return { ...found, cuda: cuda === '1' };
      }
    } catch {
      /* try the next interpreter */
    }
  }
  return null;
}

function fromSystem() {
  if (!fs.existsSync('/usr/include/ATen')) return null;
  return {
    source: "Debian's libtorch-dev",
    root: '/usr',
    include: ['/usr/include', '/usr/include/torch/csrc/api/include'],
    libdir: '/usr/lib/x86_64-linux-gnu',
    cxx11abi: 1,
  };
}

function find() {
  const env = process.env.LIBTORCH;
  if (env) {
    const found = fromDir(path.resolve(env), `LIBTORCH=${env}`);
    if (!found) throw new Error(`LIBTORCH=${env} is not a libtorch directory (no include/ATen)`);
    return found;
  }
  const found = fromPython() || fromSystem();
  if (!found) {
    throw new Error('libtorch not found: install Debian\'s libtorch-dev, pip install torch, or set LIBTORCH to a libtorch directory');
  }
  return found;
}

const t = find();
const hasCuda = t.cuda || fs.existsSync(path.join(t.libdir, 'libtorch_cuda.so'));
const libs = ['-ltorch', '-ltorch_cpu', '-lc10'];
if (hasCuda) libs.push('-Wl,--no-as-needed', '-ltorch_cuda', '-lc10_cuda', '-Wl,--as-needed');
// c10d: Gloo needs its headers (Debian: libgloo-dev; pip wheels ship them under include/); NCCL comes with CUDA builds.
const hasGloo = [...t.include, '/usr/include'].some((d) => fs.existsSync(path.join(d, 'gloo', 'config.h')));
const hasNccl = hasCuda && t.include.some((d) => fs.existsSync(path.join(d, 'torch', 'csrc', 'distributed', 'c10d', 'ProcessGroupNCCL.hpp')));
const c10d = [hasGloo ? 'USE_C10D_GLOO' : '', hasNccl ? 'USE_C10D_NCCL USE_C10D' : ''].filter(Boolean).join(' ');
const what = process.argv[2] || 'describe';
switch (what) {
  case 'include': console.log(t.include.join(' ')); break;
  case 'libs': console.log(libs.join(' ')); break;
  case 'ldflags': console.log([`-L${t.libdir}`, `-Wl,-rpath,${t.libdir}`].join(' ')); break;
  case 'defines': console.log(`_GLIBCXX_USE_CXX11_ABI=${t.cxx11abi} ${hasCuda ? 'STYLEGAN_WITH_CUDA=1' : ''} ${c10d}`.trim().replace(/ +/g, ' ')); break;
  case 'describe': console.log(JSON.stringify({ ...t, cuda: hasCuda, gloo: hasGloo, nccl: hasNccl }, null, 2)); break;
  default: throw new Error(`unknown query ${what}`);
}
