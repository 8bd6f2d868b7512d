import type { CliCommand } from './command.js';

export const explainCommand: CliCommand = {
  name: 'explain', args: [], options: {}, usage: 'tollguard explain', summary: '', help: '',
  run: async () => 0,
};
