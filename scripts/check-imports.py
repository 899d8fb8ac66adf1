#!/usr/bin/env python3
"""Fails when a Swift file imports a module its target does not declare.

Reads the targets and their dependencies from `swift package describe --type json`
(the package manifest is the truth), then every `import X` of every source file,
and names each import reached only transitively. The toolchain's own modules are
allowed everywhere; everything else must be a target or product dependency (a
product's module has the product's name unless listed in PRODUCT_MODULES).

    scripts/check-imports.py [PACKAGE_DIR]     (default: this repository; exit 1 on a finding)
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

# Modules every Swift target may import: the standard library, Foundation, the
# toolchain's test frameworks and the C library overlays.
TOOLCHAIN = {
    "Swift", "Foundation", "FoundationNetworking", "FoundationEssentials", "Dispatch", "Glibc", "Darwin",
    "Synchronization", "_Concurrency", "Testing", "XCTest", "os",
}
# Products whose module name differs from the product's (none today).
PRODUCT_MODULES: dict[str, set[str]] = {}

IMPORT = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)")


def describe(root: Path) -> dict:
    output = subprocess.run(["swift", "package", "describe", "--type", "json"], cwd=root, check=True,
                            capture_output=True, text=True).stdout
    return json.loads(output[output.index("{"):])


def findings(root: Path) -> list[str]:
    package = describe(root)
    problems = []
    for target in package["targets"]:
        allowed = set(TOOLCHAIN) | {target["name"]} | set(target.get("target_dependencies") or [])
        for product in target.get("product_dependencies") or []:
            allowed |= PRODUCT_MODULES.get(product, {product})
        for source in target.get("sources") or []:
            path = root / target["path"] / source
            if path.suffix != ".swift":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                match = IMPORT.match(line)
                if match and match.group(1) not in allowed:
                    problems.append(f"{path.relative_to(root)}:{number}: imports {match.group(1)}, "
                                    f"which target {target['name']} does not declare in Package.swift")
    return problems


def main() -> int:
    root = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    problems = findings(root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print("check-imports: every import is a declared dependency")
    return 0


if __name__ == "__main__":
    sys.exit(main())
