// A Slack SDK logger that writes nothing, for tests whose failures are on purpose (429s, refused payloads,
// listeners that throw): the SDKs' console logger would print each one. The same interface serves the
// WebClient and Bolt (both take @slack/logger's Logger).
import { LogLevel, type Logger } from '@slack/web-api';

export const quietSlackLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};
