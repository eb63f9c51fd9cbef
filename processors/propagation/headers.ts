/** Header lookup shared by the extractors. */

export type Headers = Readonly<Record<string, string | undefined>>;

/**
 * The value of a header, whatever the case of its name in `headers`. The HTTP
 * parser already lower-cases names; the slow path serves hand-built maps.
 */
export function getHeader(headers: Headers, lowerName: string): string | undefined {
  const v = headers[lowerName];
  if (v !== undefined) return v;
  for (const k in headers) {
    if (k.length === lowerName.length && k.toLowerCase() === lowerName) return headers[k];
  }
  return undefined;
}
