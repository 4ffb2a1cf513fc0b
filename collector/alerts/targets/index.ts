export {
  type AlertTargetConfig,
  AlertTargetSchema,
  alertTargetProblems,
  type CreateTargetOptions,
  createTarget,
  createTargetBudget,
  type DingTalkTargetConfig,
  type SlackTargetConfig,
  targetNameProblems,
  type WebhookTargetConfig,
} from "./config.ts"
export {
  createDingTalkTarget,
  DINGTALK_MAX_MESSAGE_BYTES,
  DINGTALK_THROTTLE_MS,
  DINGTALK_URL,
  type DingTalkOptions,
  dingTalkMarkdown,
  signDingTalk,
} from "./dingtalk.ts"
export {
  budgetBucket,
  createTokenBucket,
  dingTalkBucket,
  slackBucket,
  type TokenBucket,
  type TokenBucketOptions,
  webhookBucket,
} from "./rate-limit.ts"
export { createSlackTarget, SLACK_MAX_MESSAGE_BYTES, type SlackOptions, slackText } from "./slack.ts"
export type { AlertMessage, ChatTarget, DigestGroup, MessageLine, SendOutcome } from "./types.ts"
export {
  createWebhookTarget,
  WEBHOOK_MAX_MESSAGE_BYTES,
  type WebhookAlert,
  type WebhookOptions,
  type WebhookPayload,
  webhookPayload,
} from "./webhook.ts"
