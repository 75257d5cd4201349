#!/bin/sh
# make demo-resnet: a small ResNet (residual blocks with batch norm, 1x1
# projection shortcuts) trained on Fashion-MNIST by the mynn tool with
# augmentation (random 1-pixel shifts, left-right flips), SGD with Nesterov
# momentum and a cosine schedule; prints the test accuracy after every
# epoch and at the end, and the time.  bench/run.py (RES_WIDTHS) and
# bench/torch_cnn.py (resnet()) measure this network against PyTorch.
tool=$1
set -e
data=/usr/share/datasets/fashion-mnist
if [ ! -d "$data" ]; then
    echo "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): skipping the ResNet demo."
    exit 0
fi
epochs=${EPOCHS:-20}
layers="conv:32:3:pad=same,batchnorm,relu,maxpool:2,\
res(conv:32:3:pad=same,batchnorm,relu,conv:32:3:pad=same,batchnorm):relu,\
res(conv:64:3:stride=2:pad=1,batchnorm,relu,conv:64:3:pad=same,batchnorm | conv:64:1:stride=2,batchnorm):relu,\
res(conv:128:3:stride=2:pad=1,batchnorm,relu,conv:128:3:pad=same,batchnorm | conv:128:1:stride=2,batchnorm):relu,\
gap,10:softmax"
echo "== Fashion-MNIST: a ResNet (3 residual blocks, 32-64-128 channels) trained with the mynn tool, $epochs epochs"
start=$(date +%s)
"$tool" train "$data" --layers "$layers" --augment crop=1,flip \
    --optimizer sgd --momentum 0.9 --nesterov --lr 0.05 --weight-decay 5e-4 --schedule cosine --warmup 1 \
    --epochs "$epochs" --batch 64 --seed 1 --save build/fashion_resnet.safetensors
end=$(date +%s)
echo "time: $((end - start)) s ($(( (end - start) / 60 )) min $(( (end - start) % 60 )) s) on $(nproc) cores"
