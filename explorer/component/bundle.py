"""The plane's ES modules joined into one module, and the small inline module that loads it.

Streamlit's components v2 take a single inline JS module (a package-based component would need
the project installed with a manifest, which neither the app nor CI does), so the modules are
joined here, without a JS toolchain. Each module becomes a function scope, so its private names
cannot collide with another's, and its `import { a, b as c } from "./x.js"` line becomes a
destructuring of x.js's exports; modules are ordered from those import lines, starting at the
entry point. The browser gets the same code it would load as separate modules. Refused, with
the module named: an import cycle, a missing module, a name the imported module does not export.

The joined module is served as a static file and the component's inline code is `loader`: the
inline code travels in every run's message to the browser, the file once per visitor.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).parent
ENTRY = "index.js"
_IMPORT = re.compile(r'^import \{([^}]*)\} from "\./([\w.]+)";\n', re.M)
_EXPORT = re.compile(r"^export (?:async )?(?:class|function\*?|const|let) +([A-Za-z_$][\w$]*)", re.M)
_EXPORT_KEYWORD = re.compile(r"^export (?=(?:async )?(?:class|function|const|let) )", re.M)
_DEFAULT = re.compile(r"^export default ", re.M)


class BundleError(ValueError):
    """The modules cannot be joined: an import cycle, a missing module or name."""


def imports(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """(module, [(exported name, local name)]) per import line of a module's text."""
    out = []
    for names, module in _IMPORT.findall(text):
        pairs = []
        for item in filter(None, (part.strip() for part in names.split(","))):
            name, _, local = (w.strip() for w in item.partition(" as "))
            pairs.append((name, local or name))
        out.append((module, pairs))
    return out


def exports(text: str) -> list[str]:
    """The names a module exports (`export default` is exported as "default")."""
    return _EXPORT.findall(text) + (["default"] if _DEFAULT.search(text) else [])


def order(folder: Path = HERE, entry: str = ENTRY) -> list[str]:
    """Every module the entry point reaches, each after the modules it imports."""
    done: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise BundleError("import cycle: " + " -> ".join(visiting[visiting.index(name):] + [name]))
        path = folder / name
        if not path.is_file():
            raise BundleError(f"{visiting[-1] if visiting else 'the entry point'} imports {name}, which does not exist")
        visiting.append(name)
        for module, _ in imports(path.read_text(encoding="utf-8")):
            visit(module)
        visiting.pop()
        done.append(name)

    visit(entry)
    return done


def _scope(name: str) -> str:
    return "module_" + re.sub(r"\W", "_", name.removesuffix(".js"))


def join(folder: Path = HERE, entry: str = ENTRY) -> str:
    """One ES module whose only export is the entry point's default export."""
    texts = {name: (folder / name).read_text(encoding="utf-8") for name in order(folder, entry)}
    parts = []
    for name, text in texts.items():
        lines = []
        for module, pairs in imports(text):
            missing = [n for n, _ in pairs if n not in exports(texts[module])]
            if missing:
                raise BundleError(f"{name} imports {', '.join(missing)} from {module}, which does not export it")
            lines.append(f"  const {{ {', '.join(n if n == local else f'{n}: {local}' for n, local in pairs)} }} = "
                         f"{_scope(module)};")
        body = _DEFAULT.sub("const __default = ", _EXPORT_KEYWORD.sub("", _IMPORT.sub("", text)))
        names = ", ".join(n if n != "default" else "default: __default" for n in exports(text))
        # The `;` ends a last statement left open (an exported function expression) before `return`.
        parts.append(f"// ---- {name}\nconst {_scope(name)} = (() => {{\n" + "\n".join(lines) + "\n" + body
                     + f"\n;return {{ {names} }};\n}})();\n")
    parts.append(f"export default {_scope(entry)}.default;\n")
    return "\n".join(parts)


# Fetched as the range "bytes=0-" for the reason explorer/component/protocol.js's fetchOnce gives
# (the server then sends the file as it is rather than compress it anew per visitor), and imported
# from a blob URL, since import() cannot ask for a range. Calls made while the module loads wait
# for it, in order; a call whose cleanup came first is skipped.
_LOADER = """const URL_ = %s;
let loading;
function load() {
  loading ??= fetch(new URL(URL_, document.baseURI).href, { headers: { Range: "bytes=0-" } })
    .then((r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.text(); })
    .then((code) => import(URL.createObjectURL(new Blob([code], { type: "text/javascript" }))));
  return loading;
}
export default function (component) {
  let cleanup, gone = false;
  load().then((module) => {
    if (gone) return;
    for (const note of [...component.parentElement.children]) if (note.dataset.loadFailed) note.remove();
    cleanup = module.default(component);
  }, (error) => {
    loading = undefined;
    const note = document.createElement("p");
    note.setAttribute("role", "alert");
    note.dataset.loadFailed = "true";
    note.textContent = `The plane's code could not be loaded (${error.message}): reload the page.`;
    component.parentElement.replaceChildren(note);
  });
  return () => { gone = true; if (typeof cleanup === "function") cleanup(); };
}
"""


def loader(url: str) -> str:
    """The component's inline module: it imports the joined module published at `url` (relative to
    the page) once, and hands every call to it."""
    return _LOADER % json.dumps(url)
