/** A parsed JSON object (not null, not an array): what a stored record or config must be before its fields are read. */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
