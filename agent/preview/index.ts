export { buildPreview, type PreviewBody } from "./body.ts"
export { createPreviewHandler, type PreviewHandlerDeps, type PreviewRefusal } from "./handler.ts"
export { closeLocated, createLocator, GONE, type Locate, type Located } from "./locate.ts"
export { agentPreviewHandler } from "./mount.ts"
export { renderPreviewPage } from "./page.ts"
export {
  MATCHED_LINE_MAX_BYTES,
  type PreviewWindow,
  readWindow,
  WINDOW_AFTER_BYTES,
  WINDOW_BEFORE_BYTES,
  type WindowLine,
} from "./window.ts"
