import type { JobType } from "@llmq/shared";
import { processChat } from "./chat.js";
import { processConversation } from "./conversation.js";
import { processStructured } from "./structured.js";
import type { Processor } from "./types.js";
import { processUnstructured } from "./unstructured.js";

/** One processor per job type in the catalog: a job type without one is a compile error. */
export const PROCESSORS: { [T in JobType]: Processor<T> } = {
  structured: processStructured,
  unstructured: processUnstructured,
  conversation: processConversation,
  chat: processChat,
};
