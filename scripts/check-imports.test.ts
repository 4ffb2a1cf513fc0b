import { afterAll, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { checkImports, importsOf, packageName, runtimeFiles } from "./check-imports.ts"

const tmp = mkdtempSync(join(tmpdir(), "outpost-check-imports-"))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** A throwaway project: package.json plus the given files. */
function project(name: string, manifest: object, files: Record<string, string>): string {
  const root = join(tmp, name)
  for (const [path, text] of Object.entries({ "package.json": JSON.stringify(manifest), ...files })) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

test("the repository declares what it imports, and the binaries use only dependencies", () => {
  expect(checkImports(join(import.meta.dir, ".."))).toEqual([])
})

test.each([
  ["@nats-io/jetstream", "@nats-io/jetstream"],
  ["@sinclair/typebox/value", "@sinclair/typebox"],
  ["smol-toml", "smol-toml"],
  ["lodash/fp", "lodash"],
  ["node:fs", undefined],
  ["fs", undefined],
  ["fs/promises", undefined],
  ["bun", undefined],
  ["bun:test", undefined],
  ["./x.ts", undefined],
  ["../y", undefined],
  ["/abs/z.ts", undefined],
  ["#internal", undefined],
])("packageName(%p) is %p", (specifier, name) => {
  expect(packageName(specifier)).toBe(name)
})

describe("importsOf", () => {
  test.each([
    ["a value import", `import { a } from "pkg-a"\nconsole.log(a)`, ["pkg-a"], []],
    ["a side-effect import", `import "pkg-a"`, ["pkg-a"], []],
    ["a re-export", `export * from "pkg-a"\nexport { b } from "pkg-b"`, ["pkg-a", "pkg-b"], []],
    ["import() and require()", `await import("pkg-a")\nrequire("pkg-b")`, ["pkg-a", "pkg-b"], []],
    ["import type", `import type { T } from "pkg-t"`, [], ["pkg-t"]],
    ["export type", `export type { T } from "pkg-t"`, [], ["pkg-t"]],
    ["inline type specifiers", `import {\n  type T,\n  type U,\n} from "pkg-t"`, [], ["pkg-t"]],
    ["a hashbang line", `#!/usr/bin/env bun\nimport { a } from "pkg-a"\nconsole.log(a)`, ["pkg-a"], []],
    ["imports inside strings", `const s = "import x from 'pkg-s'"\nconst t = \`require("pkg-t")\``, [], []],
  ])("%s", (_, code, value, types) => {
    expect(importsOf(code)).toEqual({ value, types })
  })
})

describe("checkImports on a project", () => {
  const manifest = {
    name: "demo",
    dependencies: { "pkg-run": "1.0.0", "pkg-test-only": "1.0.0" },
    devDependencies: { "pkg-dev": "1.0.0", "pkg-types": "1.0.0" },
  }
  const root = project("demo", manifest, {
    "app/main.ts": `#!/usr/bin/env bun\nimport { run } from "./run.ts"\nawait run()\n`,
    "app/run.ts": [
      `import { go } from "pkg-run"`,
      `import { dev } from "pkg-dev"`,
      `import type { T } from "pkg-types"`,
      `import { self } from "demo/self"`,
      `export async function run(): Promise<T> { return go(dev, self) }`,
    ].join("\n"),
    "app/run.test.ts": `import { t } from "pkg-test-only"\nimport { u } from "@scope/undeclared/sub"\nt(u)\n`,
    "app/broken.ts": `export const = 1`,
    "tools/build.ts": `import { b } from "pkg-build"\nb()\n`,
    "node_modules/pkg-run/index.ts": `import "not-checked"`,
    "dist/out.ts": `import "not-checked-either"`,
  })

  test("follows relative value imports from the entry points", () => {
    expect([...runtimeFiles(root, ["app/main.ts"])].sort()).toEqual(["app/main.ts", "app/run.ts"])
  })

  test("lists every problem", () => {
    expect(checkImports(root, ["app/main.ts"])).toEqual([
      expect.stringMatching(/^app\/broken\.ts: cannot read its imports/),
      "'@scope/undeclared' is imported but not declared in package.json (app/run.test.ts)",
      "'pkg-build' is imported but not declared in package.json (tools/build.ts)",
      "'pkg-dev' is a devDependency but the binaries import it: move it to dependencies (app/run.ts)",
      "'pkg-test-only' is in dependencies but the binaries never import it: move it to devDependencies",
    ])
  })

  test("is quiet when package.json matches", () => {
    const ok = project(
      "ok",
      { dependencies: { "pkg-run": "1" }, devDependencies: { "pkg-t": "1" } },
      {
        "main.ts": `import { go } from "pkg-run"\ngo()\n`,
        "main.test.ts": `import { t } from "pkg-t"\nimport { go } from "pkg-run"\nt(go)\n`,
      },
    )
    expect(checkImports(ok, ["main.ts"])).toEqual([])
  })

  test("names a missing entry point", () => {
    expect(checkImports(root, ["app/main.ts", "app/gone.ts"])).toContain("entry point app/gone.ts not found")
  })
})
