/** Argument values that would break out of naive shell quoting; tests pass them through every path. */
export const HOSTILE = [
  `'; touch /tmp/pwned-$$; echo '`,
  '$(id -u)',
  '`id`',
  'a b\tc\nd',
  '"double" \'single\' \\back',
  '; rm -rf / #',
  '&& false || true | cat > x < y',
  '*?[a-z]~{a,b}',
  '-n',
  '',
  'ünïcödé ✓',
  "''''",
];
