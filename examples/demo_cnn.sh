#!/bin/sh
# make demo-cnn: a convolutional network with batch norm trained on
# Fashion-MNIST by the mynn tool, printing its test accuracy.
tool=$1
set -e
data=/usr/share/datasets/fashion-mnist
if [ ! -d "$data" ]; then
    echo "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): skipping the CNN demo."
    exit 0
fi
echo "== Fashion-MNIST: a CNN (2 conv + batch norm + pooling) trained with the mynn tool"
"$tool" train "$data" \
    --layers conv:32:3:pad=1,batchnorm,relu,maxpool:2,conv:64:3:pad=1,batchnorm,relu,maxpool:2,flatten,128:relu,dropout:0.3,10:softmax \
    --optimizer adam --lr 0.001 --schedule cosine --epochs 12 --batch 64 --seed 1 --save build/fashion_cnn.safetensors
