import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("smoke", () => {
  it("answers /health", async () => {
    const res = await exports.default.fetch("https://x/health");
    expect(await res.json()).toEqual({ ok: true });
  });
});
