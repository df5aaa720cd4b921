#!/usr/bin/env bash
# render.sh: turns the templates of deploy/csi (manifests/ and examples/) into manifests
# ready for `kubectl apply`, filling their __PLACEHOLDERS__ from defaults.env (the one place
# where the kubelet root dir, the namespace and the pinned images are set) and from the
# flags below, which override defaults.env for this rendering.
#
# Usage:
#   deploy/csi/render.sh [OPTIONS] | kubectl apply -f -     # the driver, on stdout
#   deploy/csi/render.sh [OPTIONS] --out DIR                # DIR/manifests/, DIR/examples/
#
# Options:
#   --kubelet-dir DIR        the kubelet's --root-dir on the nodes (default: defaults.env's
#                            KUBELET_DIR); absolute, no trailing slash
#   --namespace NS           the driver's namespace (default: defaults.env's NAMESPACE)
#   --image-registry REG     pull every image from REG (REG/NAME:TAG), e.g. a mirror
#   --heqet-csi-image IMAGE  the heqet-csi image, in full (wins over --image-registry)
#   --examples               on stdout, the examples (Secret, StorageClasses, PVC, pod)
#                            follow the driver; --out always writes both
#   --out DIR                write one file per template into DIR (new or empty)
#   -h, --help               this text
#
# Needs bash >= 4 and nothing else: no template engine, no network.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() {
    printf 'render.sh: %s\n' "$*" >&2
    exit 2
}

usage() {
    sed -n '2,/^set -euo pipefail$/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# The keys defaults.env must define, each exactly once, and nothing else.
defaults_keys=(
    KUBELET_DIR NAMESPACE
    HEQET_CSI_REGISTRY HEQET_CSI_IMAGE_NAME HEQET_CSI_TAG
    SIDECAR_REGISTRY CSI_PROVISIONER_TAG CSI_RESIZER_TAG CSI_NODE_DRIVER_REGISTRAR_TAG
    LIVENESSPROBE_TAG
    EXAMPLE_REGISTRY EXAMPLE_IMAGE_NAME EXAMPLE_TAG
)

# Reads defaults.env as data (KEY=value lines), not as a script: a stray command in it is an
# error, not something that runs.
declare -A defaults=()
load_defaults() {
    local file=$here/defaults.env line key value n=0 k
    [[ -r $file ]] || die "cannot read $file"
    while IFS= read -r line || [[ -n $line ]]; do
        n=$((n + 1))
        [[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
        if [[ ! $line =~ ^([A-Z][A-Z0-9_]*)=([A-Za-z0-9._:/@-]*)$ ]]; then
            die "$file:$n: not a KEY=value line (value: letters, digits and ._:/@- only): $line"
        fi
        key=${BASH_REMATCH[1]}
        value=${BASH_REMATCH[2]}
        [[ -v "defaults[$key]" ]] && die "$file:$n: $key is set twice"
        defaults[$key]=$value
    done <"$file"
    for key in "${!defaults[@]}"; do
        local known=false
        for k in "${defaults_keys[@]}"; do [[ $k == "$key" ]] && known=true; done
        $known || die "$file: unknown key $key"
    done
    for key in "${defaults_keys[@]}"; do
        [[ -v "defaults[$key]" ]] || die "$file: $key is missing"
        # Only a registry may be empty (an image as loaded on the nodes).
        [[ $key == *_REGISTRY || -n ${defaults[$key]} ]] || die "$file: $key is empty"
    done
}

# An absolute, normalized path (no trailing slash, no empty, '.' or '..' component) of the
# characters that need no quoting in YAML or in a shell.
valid_kubelet_dir() {
    local d=$1
    [[ $d =~ ^(/[A-Za-z0-9._-]+)+$ ]] || return 1
    [[ /$d/ != */./* && /$d/ != */../* ]]
}

valid_namespace() {
    [[ ${#1} -le 63 && $1 =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]]
}

valid_registry() {
    [[ $1 =~ ^[A-Za-z0-9]([A-Za-z0-9._:/-]*[A-Za-z0-9])?$ && $1 != *//* ]]
}

valid_image() {
    [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._:/@-]*$ && $1 != *//* ]]
}

# REGISTRY/NAME:TAG, or NAME:TAG for an empty registry.
image_ref() {
    local registry=$1 name=$2 tag=$3
    if [[ -n $registry ]]; then
        printf '%s/%s:%s' "$registry" "$name" "$tag"
    else
        printf '%s:%s' "$name" "$tag"
    fi
}

load_defaults

kubelet_dir=${defaults[KUBELET_DIR]}
namespace=${defaults[NAMESPACE]}
image_registry=
heqet_csi_image=
with_examples=false
out_dir=

while (($#)); do
    opt=$1
    value=
    case $opt in
        --*=*)
            value=${opt#*=}
            opt=${opt%%=*}
            ;;
    esac
    case $opt in
        --kubelet-dir | --namespace | --image-registry | --heqet-csi-image | --out)
            if [[ $1 != *=* ]]; then
                (($# >= 2)) || die "$opt needs a value"
                value=$2
                shift
            fi
            ;;
    esac
    case $opt in
        --kubelet-dir) kubelet_dir=$value ;;
        --namespace) namespace=$value ;;
        --image-registry) image_registry=${value%/} ;;
        --heqet-csi-image) heqet_csi_image=$value ;;
        --out) out_dir=$value ;;
        --examples) with_examples=true ;;
        -h | --help)
            usage
            exit 0
            ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done

valid_kubelet_dir "$kubelet_dir" ||
    die "--kubelet-dir must be an absolute path without trailing slash, '.' or '..' (letters, digits, ._-): '$kubelet_dir'"
valid_namespace "$namespace" || die "--namespace must be a DNS label (a-z, 0-9, -; at most 63): '$namespace'"
[[ -z $image_registry ]] || valid_registry "$image_registry" ||
    die "--image-registry is not a registry/prefix: '$image_registry'"
[[ -z $heqet_csi_image ]] || valid_image "$heqet_csi_image" ||
    die "--heqet-csi-image is not an image reference: '$heqet_csi_image'"

registry_or() {
    if [[ -n $image_registry ]]; then printf '%s' "$image_registry"; else printf '%s' "$1"; fi
}

sidecars=$(registry_or "${defaults[SIDECAR_REGISTRY]}")
if [[ -z $heqet_csi_image ]]; then
    heqet_csi_image=$(image_ref "$(registry_or "${defaults[HEQET_CSI_REGISTRY]}")" \
        "${defaults[HEQET_CSI_IMAGE_NAME]}" "${defaults[HEQET_CSI_TAG]}")
fi

# Placeholder -> value. Every template may use any of these and nothing else.
declare -A values=(
    [__KUBELET_DIR__]=$kubelet_dir
    [__NAMESPACE__]=$namespace
    [__HEQET_CSI_IMAGE__]=$heqet_csi_image
    [__CSI_PROVISIONER_IMAGE__]=$(image_ref "$sidecars" csi-provisioner "${defaults[CSI_PROVISIONER_TAG]}")
    [__CSI_RESIZER_IMAGE__]=$(image_ref "$sidecars" csi-resizer "${defaults[CSI_RESIZER_TAG]}")
    [__CSI_NODE_DRIVER_REGISTRAR_IMAGE__]=$(image_ref "$sidecars" csi-node-driver-registrar \
        "${defaults[CSI_NODE_DRIVER_REGISTRAR_TAG]}")
    [__LIVENESSPROBE_IMAGE__]=$(image_ref "$sidecars" livenessprobe "${defaults[LIVENESSPROBE_TAG]}")
    [__EXAMPLE_IMAGE__]=$(image_ref "$(registry_or "${defaults[EXAMPLE_REGISTRY]}")" \
        "${defaults[EXAMPLE_IMAGE_NAME]}" "${defaults[EXAMPLE_TAG]}")
)

# Renders one template into $rendered: every placeholder filled; an unknown one is an error.
render_file() {
    local file=$1 rel=${1#"$here"/} text placeholder
    text=$(<"$file")
    for placeholder in "${!values[@]}"; do
        # The quoted replacement keeps '&' literal under bash 5.2's patsub_replacement.
        text=${text//"$placeholder"/"${values[$placeholder]}"}
    done
    if [[ $text =~ __[A-Z0-9_]+__ ]]; then
        die "$rel: unknown placeholder ${BASH_REMATCH[0]}"
    fi
    rendered=$(printf '# Source: deploy/csi/%s (rendered by deploy/csi/render.sh)\n%s\n' "$rel" "$text")
}

# Everything is rendered before anything is written, so an error leaves no half-rendered
# output behind (and `render.sh | kubectl apply -f -` applies nothing).
sets=(manifests examples)
declare -A output=()
order=()
for set in "${sets[@]}"; do
    files=("$here/$set"/*.yaml)
    [[ -e ${files[0]} ]] || die "no templates in $here/$set"
    for f in "${files[@]}"; do
        rendered=
        render_file "$f"
        output[$set/${f##*/}]=$rendered
        order+=("$set/${f##*/}")
    done
done

if [[ -n $out_dir ]]; then
    if [[ -e $out_dir ]]; then
        [[ -d $out_dir ]] || die "--out $out_dir exists and is not a directory"
        [[ -z $(ls -A "$out_dir") ]] || die "--out $out_dir is not empty"
    fi
    mkdir -p "${sets[@]/#/$out_dir/}"
    for name in "${order[@]}"; do
        printf '%s\n' "${output[$name]}" >"$out_dir/$name"
    done
    exit 0
fi

first=true
for name in "${order[@]}"; do
    [[ $name == examples/* ]] && ! $with_examples && continue
    $first || printf -- '---\n'
    first=false
    printf '%s\n' "${output[$name]}"
done
