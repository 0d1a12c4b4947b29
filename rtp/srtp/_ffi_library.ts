/**
 * A C library the SRTP backends call through `Deno.dlopen`, opened on first use and kept for
 * the life of the process. A missing FFI permission is asked again each time (it may be granted
 * later, as in tests); any other failure (not Linux, not installed, the wrong version) is
 * remembered, with a message naming the Debian package to install.
 *
 * @module
 */

export interface FfiLibrarySpec<S extends Deno.ForeignLibraryInterface> {
  /** The file dlopen looks for, e.g. "libcrypto.so.3". */
  readonly file: string;
  /** The Debian package that installs it. */
  readonly package: string;
  readonly symbols: S;
  /** What else must hold once it is open (version, init): undefined, or why it cannot be used. */
  readonly check?: (lib: Deno.DynamicLibrary<S>["symbols"]) => string | undefined;
}

export class FfiLibrary<S extends Deno.ForeignLibraryInterface> {
  readonly #spec: FfiLibrarySpec<S>;
  #loaded: Deno.DynamicLibrary<S>["symbols"] | undefined;
  #failure: string | undefined;

  constructor(spec: FfiLibrarySpec<S>) {
    this.#spec = spec;
  }

  /** The library's symbols; throws an Error saying what is missing when it cannot be opened. */
  open(): Deno.DynamicLibrary<S>["symbols"] {
    if (this.#loaded !== undefined) return this.#loaded;
    const what = `Cannot load ${this.#spec.file}`;
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      throw new Error(`${what}: run with --allow-ffi`);
    }
    this.#failure ??= this.#load(what);
    if (this.#loaded !== undefined) return this.#loaded;
    throw new Error(this.#failure);
  }

  /** The library can be used here (permission, library, version). */
  available(): boolean {
    try {
      this.open();
      return true;
    } catch {
      return false;
    }
  }

  /** Opens it; undefined on success (`#loaded` set), else the reason. */
  #load(what: string): string | undefined {
    const arch = Deno.build.arch;
    if (Deno.build.os !== "linux" || (arch !== "x86_64" && arch !== "aarch64")) {
      return `${what}: only Linux x86_64 and aarch64 are supported`;
    }
    let lib: Deno.DynamicLibrary<S>["symbols"];
    try {
      lib = Deno.dlopen(this.#spec.file, this.#spec.symbols).symbols;
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      return `${what}: install the Debian package ${this.#spec.package} (${detail})`;
    }
    const problem = this.#spec.check?.(lib);
    if (problem !== undefined) return `${what}: ${problem}`;
    this.#loaded = lib;
    return undefined;
  }
}
