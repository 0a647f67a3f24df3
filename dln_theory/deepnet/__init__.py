"""Deep networks and image data for validating implicit regularization beyond linear models."""

from .data import (
    DATASETS as DATASETS,
    Dataset as Dataset,
    augment_crop_flip as augment_crop_flip,
    load_dataset as load_dataset,
    load_digits_dataset as load_digits_dataset,
    load_mnist5k as load_mnist5k,
    read_cifar10_folder as read_cifar10_folder,
    read_cifar100_folder as read_cifar100_folder,
    read_idx as read_idx,
    read_mnist_folder as read_mnist_folder,
)
from .networks import (
    MLP as MLP,
    NETWORKS as NETWORKS,
    BasicBlock as BasicBlock,
    LeNet as LeNet,
    ResNet18 as ResNet18,
    WideBlock as WideBlock,
    WideResNet as WideResNet,
    make_network as make_network,
    num_params as num_params,
)
