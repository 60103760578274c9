/**
 * Who is who: connection ids to display names. Params are private to a connection, so names are
 * learned from the `name` field the demo puts in each chat message; until then a member shows as
 * a short form of its id.
 */
export class NameBook {
  private names = new Map<string, string>();

  learn(id: string, name: unknown): boolean {
    if (typeof name !== "string" || name.trim() === "") return false;
    const clean = name.trim().slice(0, 40);
    if (this.names.get(id) === clean) return false;
    this.names.set(id, clean);
    return true;
  }

  known(id: string): string | undefined {
    return this.names.get(id);
  }

  /** The name when known, else the id (shortened: ids are long and unguessable). */
  label(id: string): string {
    return this.names.get(id) ?? shortId(id);
  }
}

export function shortId(id: string): string {
  // Ids are `<host object>.<random>`: connections of one host share the first part, so show the second.
  const own = id.slice(id.lastIndexOf(".") + 1);
  return own.length > 12 ? `${own.slice(0, 8)}…` : own;
}
