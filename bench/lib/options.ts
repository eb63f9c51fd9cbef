/** Command-line options of the benchmarks: `--name value` and bare `--flag`. */

/** The value after `--name`, or undefined when the option is absent. */
export function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The number after `--name`, or `dflt` when the option is absent. */
export function numberOption(name: string, dflt: number): number {
  return Number(option(name) ?? dflt);
}

/** Whether the bare `--name` is given. */
export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}
