// ESLint: typescript-eslint's type-aware recommended rules over every TypeScript file, with
// promise misuse (floating or misused promises) as errors. Formatting is Prettier's job.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "bench/build/", "docs/reference/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      // Errors we forward (from a callback or a catch) are whatever we were given.
      "@typescript-eslint/prefer-promise-reject-errors": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  // The layers' import rules (docs/internals.md, "The map"): data flows down, never back up.
  {
    files: ["src/**/*.ts"],
    ignores: ["src/native/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [{ name: "koffi", message: "src/native/ is the only importer of koffi." }] },
      ],
    },
  },
  {
    files: ["src/native/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^\\.\\./(?!errors\\.js$)",
              message: "src/native/ sits below the object model: it may import only ../errors.js.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/vebuild/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "koffi", message: "src/native/ is the only importer of koffi." }],
          patterns: [
            {
              regex: "^\\.\\./(?!errors\\.js$|native/emulator-build\\.js$)",
              message:
                "VeBuild knows nothing of procs: it may import ../errors.js and the emulator build only.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/device/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "koffi", message: "src/native/ is the only importer of koffi." }],
          patterns: [
            {
              regex:
                "^\\.\\./(?!(errors|ctypes|proc|context|library|function|memory|onstack|native/library|vebuild/index)\\.js$)",
              message:
                "src/device/ is built on the object model's public modules (those src/index.ts re-exports); " +
                "importing ../index.js itself would be a cycle.",
            },
          ],
        },
      ],
    },
  },
  {
    // A thenable mirrors PromiseLike's own signatures, which use any.
    files: ["src/request.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // Tests and benchmarks reach into internals and raw koffi results on purpose. Examples
    // are not here: typed kernels (lib.declare) keep them free of `any`.
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/restrict-template-expressions": "off",
      "@typescript-eslint/no-base-to-string": "off",
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    ...tseslint.configs.disableTypeChecked,
  },
);
