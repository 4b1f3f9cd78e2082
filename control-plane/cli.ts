// Placeholder until this command lands; replaced by its issue's implementation.
export const usage = 'usage: weft control-plane';

export async function run(_argv: string[]): Promise<number> {
  throw Object.assign(new Error('this command is not available in this build yet'), { exitCode: 1 });
}
