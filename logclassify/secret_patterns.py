"""What counts as a secret in a log line, and how it is masked (docs/redaction.md lists the same, in a table).

Two kinds: values that a *name* marks as secret (`api_key=...`, `'hf_token': [...]`, `--api-key ...`, `HF_TOKEN=...`,
URL passwords, signed-URL signatures), in every shape vLLM, Python and shells print them; and tokens whose own
format gives them away (`hf_...`, `ghp_...`, `AKIA...`, JWTs, PEM private keys), wherever they stand. Each pattern
runs only on text that holds one of its trigger words (lowercased); one search for all of them comes first, so a
string that holds none (most do) costs that one search.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import regex

from logclassify.lazyre import LazyPattern, lazy

REDACTED = "<redacted>"

# -- names -------------------------------------------------------------------------------------------------------

# A name is secret when its last word is one of these, or its last two words are one of the pairs.
_SECRET_WORDS = frozenset({"token", "secret", "password", "passwd", "pwd", "passphrase", "apikey", "apikeys"})
_SECRET_PAIRS = frozenset({
    ("api", "key"), ("api", "keys"), ("access", "key"), ("secret", "key"), ("private", "key"), ("account", "key"),
    ("signing", "key"), ("encryption", "key"), ("master", "key"), ("client", "secret"), ("auth", "key"),
})
_WORDS = lazy(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
# the part of a name that must end in a secret word (the exact test is `is_secret_name`)
_NAME_END = r"(?:token|keys?|secret|passw(?:or)?d|pwd|passphrase)"


def is_secret_name(name: str) -> bool:
    """True for names such as HF_TOKEN, api_key, apiKey, --hf-token, AWS_SECRET_ACCESS_KEY, X-Amz-Security-Token;
    False for bos_token_id, max_tokens, tokenizer, HF_TOKEN_PATH, key_cache."""
    words = [w.lower() for w in _WORDS.findall(name)]
    if not words:
        return False
    return words[-1] in _SECRET_WORDS or tuple(words[-2:]) in _SECRET_PAIRS


# Values that are not secrets: empty, None/null/booleans, masks, placeholders, variables, code.
_PLACEHOLDER = lazy(
    r"(?:None|null|nil|true|false|\*+|x+|\.\.\.|<[^<>]*>|\$\{?\w+\}?|%s|\{\w*\}|[A-Za-z_][\w.]*[(\[].*)?",
    regex.IGNORECASE,
)
_QUOTED = lazy(r"'[^'\n]*'|\"[^\"\n]*\"")


def _mask_value(value: str) -> str:
    """A value as printed (bare, quoted, or a list of them) with each secret part replaced, quotes kept."""
    if value.startswith("["):
        inner = value[1:-1]
        if _QUOTED.search(inner):
            return "[" + _QUOTED.sub(lambda m: _mask_value(m[0]), inner) + "]"
        return value if _PLACEHOLDER.fullmatch(inner.strip()) else f"[{REDACTED}]"
    if value[:1] in ("'", '"') and len(value) >= 2 and value[-1] == value[0]:
        return value if _PLACEHOLDER.fullmatch(value[1:-1]) else f"{value[0]}{REDACTED}{value[0]}"
    return value if _PLACEHOLDER.fullmatch(value) else REDACTED


def _named_value(m: regex.Match[str]) -> str:
    """`<keep><value>` with the value masked when the name is secret."""
    if not is_secret_name(m["name"]):
        return str(m[0])
    return f"{m['keep']}{_mask_value(m['value'])}"


_VALUE = r"(?P<value>\[[^\]\n]*\]|'[^'\n]*'|\"[^\"\n]*\"|[^\s'\",;&)\]}]+)"

# -- the patterns ------------------------------------------------------------------------------------------------

Replacement = str | Callable[[regex.Match[str]], str]


@dataclass(frozen=True)
class Secret:
    """One kind of secret: what it is (for the docs), its pattern, the replacement, the words that must be present."""

    what: str
    pattern: LazyPattern
    replace: Replacement
    triggers: tuple[str, ...]


def _keep(flags: int = 0, *parts: str) -> LazyPattern:
    return lazy("".join(parts), flags)


_KEEP = rf"\g<keep>{REDACTED}"
_I = regex.IGNORECASE

# Tokens recognisable by their format alone: (what, regex, trigger). The trigger is a lowercased piece of the regex's
# fixed prefix, so the pattern only runs where such a token can be.
TOKEN_FORMATS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Hugging Face token", r"hf_[A-Za-z0-9]{20,}", ("hf_",)),
    ("Hugging Face org token", r"api_org_[A-Za-z0-9]{20,}", ("api_org_",)),
    ("OpenAI, Anthropic, DeepSeek key (`sk-`, `sk-proj-`, `sk-ant-`, `sk-svcacct-`)", r"sk-[A-Za-z0-9_-]{20,}", ("sk-",)),
    ("Groq key", r"gsk_[A-Za-z0-9]{20,}", ("gsk_",)),
    ("xAI key", r"xai-[A-Za-z0-9]{40,}", ("xai-",)),
    ("Perplexity key", r"pplx-[A-Za-z0-9]{40,}", ("pplx-",)),
    ("Replicate token", r"r8_[A-Za-z0-9]{30,}", ("r8_",)),
    ("NVIDIA API key", r"nvapi-[A-Za-z0-9_-]{20,}", ("nvapi-",)),
    ("PyPI token", r"pypi-[A-Za-z0-9_-]{40,}", ("pypi-",)),
    ("npm token", r"npm_[A-Za-z0-9]{36}", ("npm_",)),
    ("GitHub token (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`)", r"gh[pousr]_[A-Za-z0-9]{30,}",
     ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    ("GitHub fine-grained token", r"github_pat_[A-Za-z0-9_]{30,}", ("github_pat_",)),
    ("GitLab token (`glpat-`, `gldt-`, `glrt-`, ...)", r"gl(?:pat|dt|rt|ptt|soat|ft)-[A-Za-z0-9_-]{20,}",
     ("glpat-", "gldt-", "glrt-", "glptt-", "glsoat-", "glft-")),
    ("Slack token (`xoxb-`, `xoxp-`, `xapp-`, ...)", r"xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}",
     ("xox", "xapp-")),
    ("AWS access key id (`AKIA`, `ASIA`, ...)", r"(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[0-9A-Z]{16}",
     ("akia", "asia", "agpa", "aida", "aroa", "aipa", "anpa", "anva", "abia", "acca")),
    ("Google API key", r"AIza[0-9A-Za-z_-]{35}", ("aiza",)),
    ("Google OAuth access token", r"ya29\.[0-9A-Za-z_-]{20,}", ("ya29.",)),
    ("Google OAuth client secret", r"GOCSPX-[0-9A-Za-z_-]{20,}", ("gocspx-",)),
    ("Stripe key (`sk_live_`, `rk_test_`, ...)", r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}", ("_live_", "_test_")),
    ("Stripe webhook secret", r"whsec_[A-Za-z0-9]{16,}", ("whsec_",)),
    ("Docker Hub token", r"dckr_pat_[A-Za-z0-9_-]{20,}", ("dckr_pat_",)),
    ("Databricks token", r"dapi[0-9a-f]{32}", ("dapi",)),
    ("DigitalOcean token", r"do[por]_v1_[0-9a-f]{64}", ("_v1_",)),
    ("SendGrid key", r"SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}", ("sg.",)),
    ("Tailscale key", r"tskey-[A-Za-z0-9-]{20,}", ("tskey-",)),
    ("Shopify token", r"shp(?:at|ss|ca|pa)_[0-9a-fA-F]{32}", ("shpat_", "shpss_", "shpca_", "shppa_")),
    ("Linear key", r"lin_api_[A-Za-z0-9]{40}", ("lin_api_",)),
    ("HashiCorp Vault token", r"hv[sbr]\.[A-Za-z0-9_-]{24,}", ("hvs.", "hvb.", "hvr.")),
    ("JSON Web Token", r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", ("eyj",)),
)
_TOKENS = Secret(
    "tokens recognisable by their format (the table below)",
    lazy(r"(?<![A-Za-z0-9_-])(?:" + "|".join(p for _, p, _ in TOKEN_FORMATS) + r")"),
    REDACTED,
    tuple(dict.fromkeys(t for _, _, ts in TOKEN_FORMATS for t in ts)),
)

SECRETS: tuple[Secret, ...] = (
    Secret("PEM private key block (RSA, EC, OpenSSH, PGP, PKCS#8; to the end of the text when cut)",
           lazy(r"-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|$)",
                regex.DOTALL), REDACTED, ("private key",)),
    Secret("Azure connection string `AccountKey=`, `SharedAccessKey=`, `SharedAccessSignature=`",
           _keep(_I, r"(?P<keep>\b(?:AccountKey|SharedAccessKey|SharedAccessSignature)=)(?!<redacted>)[^;\s'\"]+"),
           _KEEP, ("accountkey", "sharedaccess")),
    Secret("URL password, also with an empty user (`redis://:PASS@host`)",
           _keep(_I, r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s/?#]+(?=@[^\s@/?#]*(?:[/?#:\s'\"]|$))"),
           _KEEP, ("://",)),
    Secret("URL user that is a token (a Sentry DSN key, `https://TOKEN@host`)",
           _keep(_I, r"(?P<keep>\b[a-z][a-z0-9+.-]*://)[A-Za-z0-9_-]{20,}(?=@)"), _KEEP, ("://",)),
    Secret("Slack and Discord webhook URLs, Telegram bot URLs",
           _keep(0, r"(?P<keep>hooks\.slack\.com/services/|discord(?:app)?\.com/api/webhooks/|api\.telegram\.org/bot)",
                 r"[A-Za-z0-9/:_-]+"), _KEEP, ("hooks.slack", "webhooks", "telegram")),
    Secret("signed-URL signatures: `X-Amz-Signature=`, `X-Goog-Signature=`, `Signature=`, `sig=`",
           _keep(_I, r"(?P<keep>[?&;](?:X-Amz-Signature|X-Goog-Signature|Signature|sig)=)(?!<redacted>)[^&\s#'\";]+"),
           _KEEP, ("sig",)),
    Secret("`Authorization:` header values, `Bearer` tokens",
           _keep(_I, r"(?P<keep>\bBearer\s+|\bAuthorization:\s*(?:(?:Basic|Token|Bearer)\s+)?)",
                 r"(?!<redacted>)[A-Za-z0-9._~+/=-]{8,}"), _KEEP, ("bearer", "authorization")),
    Secret("Kubernetes env entries in JSON (`{\"name\": \"HF_TOKEN\", \"value\": \"...\"}`)",
           _keep(0, r"""(?P<keep>["']name["']\s*:\s*["'](?P<name>[\w.-]+)["']\s*,\s*["']value["']\s*:\s*)""",
                 r"""(?P<value>"[^"\n]*"|'[^'\n]*')"""), _named_value, ("value",)),
    Secret("values of secret-named keys: `HF_TOKEN=`, `export X=`, `'api_key': [...]`, `Namespace(api_key='...')`, "
           "JSON, headers",
           _keep(_I, rf"(?P<keep>(?<![\w-])(?P<q>['\"]?)(?P<name>(?=[A-Za-z])[\w-]*?{_NAME_END})(?P=q)\s*[=:]\s*)",
                 _VALUE), _named_value, ("token", "key", "secret", "passw", "pwd", "passphrase")),
    Secret("command-line flags with a secret name: `--api-key VALUE`, `--hf-token=VALUE`",
           _keep(_I, rf"(?P<keep>(?<![\w-])--(?P<name>(?=[A-Za-z])[\w-]*?{_NAME_END})(?:=|\s+))",
                 r"(?P<value>'[^'\n]*'|\"[^\"\n]*\"|(?!-)[^\s'\"]+)"), _named_value,
           ("token", "key", "secret", "passw", "pwd", "passphrase")),
    Secret(".netrc lines (`machine HOST login USER password VALUE`)",
           _keep(0, r"(?P<keep>\blogin\s+\S+\s+password\s+)(?!<redacted>)\S+"), _KEEP, ("password",)),
    Secret("W&B keys given to `wandb login`",
           _keep(0, r"(?P<keep>\bwandb\s+login\s+(?:--\S+\s+)*)(?!<redacted>)[A-Za-z0-9_-]{32,}"), _KEEP, ("wandb",)),
    _TOKENS,
    Secret("e-mail addresses (replaced by `<email>`)",
           lazy(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"), "<email>", ("@",)),
)


def _trie(words: Sequence[str]) -> str:
    """A pattern that occurs where one of the words does, their common beginnings written once (`a(?:kia|sia)`):
    `re` then tests a position in a few steps, where a plain alternation of ~80 words tries each one."""
    if "" in words:  # a word ends here: the longer ones that go on occur only where it does
        return ""
    after: dict[str, list[str]] = {}
    for w in words:
        after.setdefault(w[0], []).append(w[1:])
    alts = [re.escape(c) + _trie(rest) for c, rest in sorted(after.items())]
    return alts[0] if len(alts) == 1 else f"(?:{'|'.join(alts)})"


@functools.cache
def _any_trigger() -> re.Pattern[str]:
    """Any secret's trigger word, in one search: most strings of a report (evidence lines, titles) hold none, and
    asking each kind in turn cost about as much as classifying a small log (`logclassify -j` redacts every report)."""
    words = list(dict.fromkeys(t for s in SECRETS for t in s.triggers))
    return re.compile(_trie(words) if words else "(?!)")


def redact_secrets(text: str) -> str:
    """`text` with every secret replaced by `<redacted>` (labels, quotes and neighbours kept)."""
    lowered = text.lower()
    if not _any_trigger().search(lowered):
        return text
    out = text
    for s in SECRETS:
        if any(t in lowered for t in s.triggers):
            out = s.pattern.sub(s.replace, out)
    return out
