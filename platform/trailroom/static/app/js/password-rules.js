// The password rules the server enforces (trailroom/domain/accounts/security.py), for live feedback.
// The server stays the judge: this only explains what it will say.

export const MIN_LENGTH = 10;
export const MAX_LENGTH = 256;
const COMMON = new Set([
  "password123", "password1!", "qwerty1234", "1234567890a", "iloveyou123", "welcome123", "letmein123",
  "administrator1", "passw0rd123", "changeme123", "trailroom123", "abc1234567",
]);
const isLetter = (c) => c.toLowerCase() !== c.toUpperCase();

/** Which rules hold, the first problem (or ""), and a 0-4 strength score. */
export function checkPassword(password, { email = "", name = "" } = {}) {
  const rules = {
    length: password.length >= MIN_LENGTH && password.length <= MAX_LENGTH,
    letter: [...password].some(isLetter),
    other: [...password].some((c) => !isLetter(c)),
    personal: true,
  };
  const lowered = password.toLowerCase();
  const local = email.split("@")[0].toLowerCase();
  let problem = "";
  const missing = [];
  if (password.length < MIN_LENGTH) missing.push(`at least ${MIN_LENGTH} characters`);
  if (password.length > MAX_LENGTH) missing.push(`at most ${MAX_LENGTH} characters`);
  if (!rules.letter) missing.push("a letter");
  if (!rules.other) missing.push("a digit or a symbol");
  if (missing.length) problem = `The password needs ${missing.join(", ")}.`;
  else if (COMMON.has(lowered) || new Set(lowered).size < 4) {
    rules.personal = false;
    problem = "This password is too common or too simple.";
  } else if (local.length >= 4 && lowered.includes(local)) {
    rules.personal = false;
    problem = "The password must not contain your email address.";
  } else if (name.length >= 4 && lowered.includes(name.toLowerCase())) {
    rules.personal = false;
    problem = "The password must not contain your name.";
  }
  let score = 0;
  if (password) {
    score = 1;
    if (!problem) {
      const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(password)).length;
      score = 2 + (password.length >= 14 || classes >= 3 ? 1 : 0) + (password.length >= 16 && classes >= 3 ? 1 : 0);
    }
  }
  return { rules, problem, score };
}
