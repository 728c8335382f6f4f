// Cross-checks the committed Python jinja2 renderings of the templates in
// testdata/templates with @huggingface/jinja (the JavaScript engine
// transformers.js uses). Run from tokenizer/chat:
//   HF_JINJA=/path/to/node_modules/@huggingface/jinja/dist/index.js node testdata/crosscheck_hfjinja.mjs
const { Template } = await import(process.env.HF_JINJA ?? new URL("../../../../peer/node_modules/@huggingface/jinja/dist/index.js", import.meta.url).href);
import fs from "fs";
const d = JSON.parse(fs.readFileSync("testdata/renderings.json"));
import crypto from "crypto";
const convs = {
 "system-multi-turn": [[{role:"system",content:"You are a terse assistant."},{role:"user",content:"Hi! What's 2+2?"},{role:"assistant",content:"4."},{role:"user",content:"And 3+3?\nAnswer in words."}], true],
 "single-user": [[{role:"user",content:"Tell me a story about a cat named Zoë 🐱."}], true],
 "multi-turn-no-generation-prompt": [[{role:"user",content:"Hello"},{role:"assistant",content:"Hi there, how can I help?"},{role:"user",content:"Nothing, thanks."},{role:"assistant",content:"  Bye  "}], false],
 "user-user": [[{role:"user",content:"First question."},{role:"user",content:"Second question."}], true],
};
const files = {"Qwen-Qwen2.5-Instruct.jinja":["","<|im_end|>"],"microsoft-Phi-3.5-mini-instruct.jinja":["<s>","<|endoftext|>"],"mistralai-Mistral-Nemo-Instruct-2407.jinja":["<s>","</s>"],"mistralai-Mistral-7B-Instruct-v0.1.jinja":["<s>","</s>"]};
let bad=0, n=0;
for (const [f,[bos,eos]] of Object.entries(files)) {
  const src = fs.readFileSync("testdata/templates/"+f, "utf8");
  const h = crypto.createHash("sha256").update(src).digest("hex").slice(0,16);
  const t = new Template(src);
  for (const [c,[msgs,gen]] of Object.entries(convs)) {
    let out, err;
    try { out = t.render({messages:msgs, add_generation_prompt:gen, bos_token:bos, eos_token:eos}); } catch(e) { err = String(e); }
    const ref = d[h+"/"+c]; n++;
    if ((ref.text ?? null) !== (out ?? null)) { bad++; console.log("DIFF", f, c, JSON.stringify(out), JSON.stringify(ref)); }
  }
}
console.log(`@huggingface/jinja agrees with the Python reference on ${n-bad}/${n}`);
process.exit(bad ? 1 : 0);
