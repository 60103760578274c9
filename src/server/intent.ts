import type { ResumeArgs } from "../protocol/index.js";
import type { Grant } from "./tokens.js";

/**
 * What the Worker has checked about a /connect before handing the upgrade to the room object.
 * It travels in a header of a request the Worker builds itself, so a client cannot set it.
 */
export interface ConnectIntent {
  room: string;
  grant: Grant;
  remoteIP: string;
  /** Came through a TCP gateway (may send control frames); says nothing about trust. */
  viaGateway: boolean;
  /** `?since=&epoch=&session=`: replay the first room from there, and adopt the session. */
  resume: ResumeArgs;
  /** `?params=`: the connection's params from the start, so its join notice already follows its filter. */
  params: [string, string][];
  /** Set by the room once it chose the host object (see Placement); absent on the way to the room. */
  placed?: boolean;
}

export const CONNECT_INTENT_HEADER = "X-Edgechat-Connect-Intent";
