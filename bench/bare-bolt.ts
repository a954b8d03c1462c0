// The baseline for the ack-latency benchmark: a Bolt app with the same receiver and signature
// verification as the bot, whose command handler only acks. Prints its port on stdout.
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';

const signingSecret = process.env.SLACK_SIGNING_SECRET ?? '';
const receiver = new HTTPReceiver({
  signingSecret,
  endpoints: '/slack/events',
  processBeforeResponse: false,
});
const app = new App({
  token: process.env.SLACK_BOT_TOKEN ?? '',
  receiver,
  botUserId: 'U0BOT',
  botId: 'B0BOT',
  logLevel: LogLevel.ERROR,
  ...(process.env.SLACK_API_URL ? { clientOptions: { slackApiUrl: process.env.SLACK_API_URL } } : {}),
});
app.command(/.*/, async ({ ack }) => {
  await ack({ response_type: 'ephemeral', text: 'ok' });
});
const server = await receiver.start(Number(process.env.PORT ?? 0));
const address = server.address();
console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }));
process.on('SIGTERM', () => process.exit(0));
