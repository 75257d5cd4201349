#!/bin/sh
# make demo: the seed's example, XOR, then the main job: an MLP trained on
# Fashion-MNIST by the mynn tool, printing its test accuracy.
tool=$1 ex=$2
set -e
echo "== the seed's network (2-3-5-2-1, tanh/sigmoid/tanh/sigmoid, squared error, lr 0.1)"
"$ex/seed"
echo
echo "== XOR"
"$ex/xor"
data=/usr/share/datasets/fashion-mnist
if [ ! -d "$data" ]; then
    echo
    echo "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): skipping the MLP demo."
    exit 0
fi
echo
echo "== Fashion-MNIST: MLP 784-256-128-10 trained with the mynn tool"
"$tool" train "$data" --layers 256:relu,128:relu,10:softmax --optimizer adam --lr 0.001 \
    --schedule cosine --epochs 20 --batch 64 --seed 1 --save build/fashion.safetensors
