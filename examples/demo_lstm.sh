#!/bin/sh
# make demo-lstm: Fashion-MNIST images read as sequences (--shape 28x28: 28
# steps of 28 pixels, one row a step) by an LSTM whose last state feeds a
# softmax, trained by the mynn tool with Adam and a cosine schedule; prints
# the test accuracy after every epoch and at the end, and the time.
tool=$1
set -e
data=/usr/share/datasets/fashion-mnist
if [ ! -d "$data" ]; then
    echo "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): skipping the LSTM demo."
    exit 0
fi
epochs=${EPOCHS:-15}
echo "== Fashion-MNIST rows as sequences: LSTM 128 -> last state -> 10, trained with the mynn tool, $epochs epochs"
start=$(date +%s)
"$tool" train "$data" --shape 28x28 --layers lstm:128,10:softmax \
    --optimizer adam --lr 0.002 --schedule cosine --epochs "$epochs" --batch 64 --seed 1 \
    --save build/fashion_lstm.safetensors
end=$(date +%s)
echo "time: $((end - start)) s ($(( (end - start) / 60 )) min $(( (end - start) % 60 )) s) on $(nproc) cores"
