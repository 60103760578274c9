import { expect } from "vitest";
import { isChat, isResponse, uniqueRoom, WsChatClient, type ChatClient } from "./hostile.js";
import type { HostileCase } from "./hostileCases.js";
import type { RunningWorker } from "./worker.js";
import type { Message } from "./wsClient.js";

/** Opens the hostile client already in `room`; returns it and how many requests that took. */
export type HostileConnector = (room: string) => Promise<{ client: ChatClient; used: number }>;

function sendCase(client: ChatClient, frame: HostileCase["frame"]): void {
  if (Buffer.isBuffer(frame)) client.sendRaw(frame);
  else client.send(frame);
}

function sortIds(ids: unknown): string[] {
  return [...(ids as string[])].sort();
}

/**
 * Runs one hostile case: observer (WebSocket) and hostile client in a fresh room; "before" say,
 * the hostile request, a roomView, an "after" say. Checks the answer, messageCount, requestId,
 * that the connection still works, that the room's seq continued and its members are unchanged,
 * and that the observer received exactly the expected chat messages and nothing else.
 */
export async function runHostileCase(worker: RunningWorker, connectHostile: HostileConnector, c: HostileCase): Promise<void> {
  const room = uniqueRoom("hostile");
  const observer = await WsChatClient.connect(worker, { room });
  const { client, used } = await connectHostile(room);
  try {
    const join = await observer.nextChat((m) => m.event === "join" && m.from === client.id);
    const joinSeq = join.seq as number;
    let count = used;

    const before = await client.request("say before");
    count += 1;
    expect(before).toMatchObject({ status: "OK", messageCount: count, data: { room, seq: joinSeq + 1 } });

    sendCase(client, c.frame);
    const answer = (await client.next(isResponse, 10_000)) as Message;
    count += 1;
    const okAllowed = c.expect === "OK" || c.expect.includes("OK");
    const answeredOk = answer.status === "OK";
    if (answeredOk) {
      expect(okAllowed, `${c.name}: answered OK, expected ${JSON.stringify(c.expect)}`).toBe(true);
      expect(answer, JSON.stringify(answer).slice(0, 300)).toMatchObject({ status: "OK", messageCount: count });
    } else {
      expect(answer.status, JSON.stringify(answer).slice(0, 300)).toBe("error");
      expect(c.expect === "OK" ? ["OK"] : c.expect).toContain(answer.code);
      expect(answer.messageCount).toBe(count);
      expect(typeof answer.error).toBe("string");
    }
    if (Object.hasOwn(c, "requestId")) expect(answer.requestId).toEqual(c.requestId);
    const delivered = answeredOk && Object.hasOwn(c, "broadcast");
    const broadcasts = delivered || (answeredOk && c.usesSeq) ? 1 : 0;

    const view = await client.request("roomView");
    count += 1;
    expect(view).toMatchObject({ status: "OK", messageCount: count, data: { room, membersCount: 2 } });
    expect(sortIds((view.data as Message).members)).toEqual(sortIds([observer.id, client.id]));

    const after = await client.request("say after");
    count += 1;
    expect(after).toMatchObject({ status: "OK", messageCount: count, data: { room, seq: joinSeq + 2 + broadcasts } });

    await observer.nextChat((m) => m.message === "after");
    const chats = observer.received.filter(isChat).filter((m) => (m.seq as number) > joinSeq);
    const expected: Message[] = [{ message: "before", seq: joinSeq + 1, from: client.id, room }];
    if (delivered) expected.push({ message: c.broadcast, seq: joinSeq + 2, from: client.id, room } as Message);
    expected.push({ message: "after", seq: joinSeq + 2 + broadcasts, from: client.id, room });
    expect(chats.length).toBe(expected.length);
    chats.forEach((chat, index) => {
      const { message, ...envelope } = expected[index];
      expect(chat).toMatchObject({ context: "user", ...envelope });
      if (c.check && message === c.broadcast) expect(c.check(chat.message), `${c.name}: relayed message`).toBe(true);
      else expect(chat.message).toEqual(message);
    });
    // The observer never gets anything but its welcome and chat messages.
    const odd = observer.received.filter((m) => typeof m !== "object" || (m.context !== "user" && m.welcome === undefined));
    expect(odd).toEqual([]);
    expect(observer.isClosed()).toBe(false);
    expect(client.isClosed()).toBe(false);
  } finally {
    client.close();
    observer.close();
  }
}
