/** Targeted broadcast (spec section 5): deliver only where the recipient's field equals the value. */
export interface MatchFilter {
  key: string;
  value: string;
}

/** The fields a filter may look at. Client-set params are deliberately absent. */
export interface FilterFields {
  id: string;
  room: string;
  attributes: ReadonlyMap<string, string>;
}

/** A filter applies only when both key and value are set; anything else means "no filter". */
export function makeFilter(key: unknown, value: unknown): MatchFilter | undefined {
  if (key === undefined || key === null || value === undefined || value === null) return undefined;
  return { key: String(key), value: String(value) };
}

export function matchesFilter(filter: MatchFilter | undefined, recipient: FilterFields): boolean {
  if (!filter) return true;
  const field =
    filter.key === "id"
      ? recipient.id
      : filter.key === "room"
        ? recipient.room
        : recipient.attributes.get(filter.key);
  return field !== undefined && String(field) === filter.value;
}

/** Attributes named like the built-in fields would shadow them, so they are refused. */
export const RESERVED_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set(["id", "room"]);
