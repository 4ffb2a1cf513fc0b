export { loadConfigFile, parseConfig } from "./load.ts"
