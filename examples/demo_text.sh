#!/bin/sh
# make demo-text: a character-level language model of Debian's fortunes
# (every fortune file, 2.58 MB of UTF-8 text): embedding 64 -> LSTM 256
# (every step) -> a softmax over the characters at every step, trained by
# the mynn tool on windows of 64 characters with Adam; the last 10% of the
# text is the validation set (its loss in nats per character is printed
# after every epoch).  Then 400 characters generated from the model.
# bench/torch_text.py trains the same model in PyTorch on the same split.
tool=$1
set -e
dir=/usr/share/games/fortunes
if [ ! -d "$dir" ]; then
    echo "fortunes is not installed (apt-get install fortunes): skipping the text demo."
    exit 0
fi
mkdir -p build
# the fortune files themselves, not their .dat indexes or .u8 links
(cd "$dir" && cat $(ls | grep -v '\.')) > build/fortunes.txt
epochs=${EPOCHS:-3}
echo "== fortunes ($(wc -c < build/fortunes.txt) bytes): a character-level LSTM language model, $epochs epochs"
start=$(date +%s)
"$tool" train build/fortunes.txt --text --seq 64 --layers "embedding:vocab:64,lstm:256:seq,vocab:softmax" \
    --optimizer adam --lr 0.002 --epochs "$epochs" --batch 32 --val 0.1 --seed 1 \
    --save build/fortunes_lstm.safetensors
end=$(date +%s)
echo "time: $((end - start)) s ($(( (end - start) / 60 )) min $(( (end - start) % 60 )) s) on $(nproc) cores"
echo "== 400 characters from the model (mynn generate, temperature 0.8, seed 1):"
"$tool" generate build/fortunes_lstm.safetensors --prompt "The " --length 400 --temperature 0.8 --seed 1
