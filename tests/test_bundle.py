"""The plane's ES modules joined into one inline module (explorer/component/bundle.py): each in
its own scope, in the order their imports give, refusing what a browser would refuse."""
import json
import shutil
import subprocess

import pytest

from explorer.component import bundle


def write(folder, **modules):
    for name, text in modules.items():
        (folder / f"{name}.js").write_text(text)


def test_the_modules_join_into_one_module_with_one_export():
    js = bundle.join()
    assert js.count("\nexport ") == 1 and js.rstrip().endswith("export default module_index.default;")
    assert "\nimport " not in js and not js.startswith("import ")
    order = bundle.order()
    assert order[-1] == "index.js" and order.index("protocol.js") < order.index("plane.js")


def test_every_module_in_the_folder_is_reached_from_the_entry_point():
    assert sorted(bundle.order()) == sorted(p.name for p in bundle.HERE.glob("*.js"))


def test_each_module_keeps_its_private_names_to_itself(tmp_path):
    write(tmp_path, index='import { a } from "./a.js";\nimport { b } from "./b.js";\n'
                          "const helper = 3;\nexport default function () { return [a(), b(), helper]; }\n",
          a="const helper = 1;\nexport function a() { return helper; }\n",
          b="const helper = 2;\nexport function b() { return helper; }\n")
    js = bundle.join(tmp_path)
    assert js.count("const helper") == 3
    if shutil.which("node"):
        (tmp_path / "joined.mjs").write_text(js)
        out = subprocess.run(["node", "--input-type=module", "-e",
                              f"import f from '{tmp_path / 'joined.mjs'}'; console.log(JSON.stringify(f()));"],
                             capture_output=True, text=True)
        assert out.stdout.strip() == "[1,2,3]", out.stderr


def test_imports_order_the_modules_and_renames_are_kept(tmp_path):
    write(tmp_path, index='import { c as see } from "./c.js";\nexport default function () { return see; }\n',
          c='import { b } from "./b.js";\nexport const c = b + 1;\n', b="export const b = 1;\n")
    assert bundle.order(tmp_path) == ["b.js", "c.js", "index.js"]
    assert "const { c: see } = module_c;" in bundle.join(tmp_path)


@pytest.mark.parametrize("modules, message", [
    (dict(index='import { a } from "./a.js";\nexport default a;\n',
          a='import { b } from "./b.js";\nexport const a = 1;\n',
          b='import { a } from "./a.js";\nexport const b = 2;\n'), "import cycle: a.js -> b.js -> a.js"),
    (dict(index='import { a } from "./gone.js";\nexport default a;\n'),
     "index.js imports gone.js, which does not exist"),
    (dict(index='import { a, z } from "./a.js";\nexport default a;\n', a="export const a = 1;\n"),
     "index.js imports z from a.js, which does not export it"),
])
def test_what_a_browser_would_refuse_is_refused_here(tmp_path, modules, message):
    write(tmp_path, **modules)
    with pytest.raises(bundle.BundleError, match=message):
        bundle.join(tmp_path)


@pytest.mark.skipif(shutil.which("node") is None, reason="node checks the joined module's syntax")
def test_the_joined_module_parses(tmp_path):
    path = tmp_path / "plane.mjs"
    path.write_text(bundle.join())
    result = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_component_loads_the_joined_modules_from_the_file_it_published(tmp_path):
    """The component's inline code is only the loader; the modules travel as one static file,
    named by its content, which holds exactly what `join` makes."""
    from explorer import assets

    url = assets.publish(tmp_path, "component", bundle.join().encode(), suffix=".js")
    name = url.rsplit("/", 1)[1]
    assert url == f"app/static/cache/{name}" and name.startswith("component-") and name.endswith(".js")
    assert (tmp_path / "cache" / name).read_text(encoding="utf-8") == bundle.join()
    code = bundle.loader(url)
    assert f"const URL_ = {json.dumps(url)};" in code and "export default function" in code
    assert len(code) < 2_000 < len(bundle.join())  # what every run sends is the loader alone
