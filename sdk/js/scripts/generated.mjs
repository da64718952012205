// The generated bindings inside the package: sdk/js/generated.
//
// In the repository, sdk/js/generated is a symlink to ../../generated/js (the output of
// `nox -s generate`), so src/ imports "../generated/..." and the checkout always runs the current
// bindings. npm pack leaves symlinks out, so `prepack` replaces the link with a copy of what it
// points to and `postpack` puts the link back:
//
//   node scripts/generated.mjs copy   # symlink -> real directory (prepack)
//   node scripts/generated.mjs link   # real directory -> symlink (postpack)
//
// Both are idempotent: `copy` refreshes a copy left by an interrupted pack, `link` is a no-op on
// a link.
import { cpSync, existsSync, lstatSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const PKG = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const HERE = join(PKG, "generated");
const TARGET = "../../generated/js"; // relative to sdk/js, as the link stores it
const SOURCE = resolve(PKG, TARGET);

function isLink(path) {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

const mode = process.argv[2];
if (mode === "copy") {
  if (!existsSync(join(SOURCE, "hookwire", "v1", "hook_pb.js"))) {
    // Packing an already packed copy (no repository around it): keep what is there.
    if (existsSync(join(HERE, "hookwire", "v1", "hook_pb.js")) && !isLink(HERE)) process.exit(0);
    process.stderr.write(`generated.mjs: no generated bindings at ${SOURCE}; run nox -s generate\n`);
    process.exit(1);
  }
  rmSync(HERE, { recursive: true, force: true });
  cpSync(SOURCE, HERE, { recursive: true, dereference: true });
} else if (mode === "link") {
  if (!isLink(HERE) && existsSync(SOURCE)) {
    rmSync(HERE, { recursive: true, force: true });
    symlinkSync(TARGET, HERE, "dir");
  }
} else {
  process.stderr.write("usage: node scripts/generated.mjs copy|link\n");
  process.exit(2);
}
