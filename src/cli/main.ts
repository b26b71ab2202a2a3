import pkg from '../../package.json';
import { EXIT, UsageError, type Command } from './command';

/** Subcommands, loaded on demand so `--help` never parses the embedded sample data. */
const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  eval: { summary: 'evaluate detections with pycocotools-exact COCOeval (no arguments: embedded sample)', load: () => import('./eval').then((m) => m.evalCommand) },
  'ops-demo': {
    summary: 'U-Net-style forward pass (conv, max pool + unpool, transposed conv, bilinear resize) on a synthetic image, with timings',
    load: async () => (await import('./ops-demo')).opsDemo,
  },
  show: { summary: "render one image's annotations (masks, polygons, boxes, keypoints) to a PNG", load: () => import('./show').then((m) => m.show) },
};

function help(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return [
    `visionops ${pkg.version} — PyTorch/torchvision-exact vision ops and pycocotools-exact COCO evaluation`,
    '',
    'Usage: visionops <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options:',
    '  --help, -h     show this help (or `visionops <command> --help`)',
    '  --version, -v  print the version',
    '',
    `Exit codes: ${EXIT.ok} success, ${EXIT.failure} runtime error (bad file, invalid data), ${EXIT.usage} usage error.`,
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    console.log(pkg.version);
    return EXIT.ok;
  }
  const entry = commands[name];
  if (!entry) {
    console.error(`visionops: unknown command '${name}'\n\n${help()}`);
    return EXIT.usage;
  }
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`${entry.summary}\n\nUsage: ${cmd.usage}`);
    return EXIT.ok;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`visionops ${name}: ${e.message}\nUsage: ${cmd.usage}`);
      return EXIT.usage;
    }
    console.error(`visionops ${name}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    return EXIT.failure;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(e);
    process.exitCode = EXIT.failure;
  },
);
