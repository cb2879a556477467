#!/usr/bin/env node
// The CLI, compiled from src/ by `npm run build` (npm ci runs it through `prepare`).
await import('../dist/cli/main.js');
