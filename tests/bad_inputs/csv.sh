# Bad dataset CSVs: the file itself (missing, empty, not text, broken
# quoting), its columns and rows, and subject names that cannot name output
# files.  Sourced by run.sh.
make_data
make_run
abs() { sed "s|,synthetic_|,$W/data/synthetic_|" "$@"; } # the CSV's relative paths made absolute

# train_csv NAME RC NAMES ADVICE CSV: a training on CSV; a refusal may leave
# only a run folder under runs/.
train_csv() {
  expect "$1" "$2" "$3" "$4" --changes runs -- \
    "$IE" train "${TINY[@]}" --set "data.dataset_csv=$5" --output-dir runs
}

train_csv csv_missing 1 "data.dataset_csv: cannot open 'nothere.csv': No such file" "check data.dataset_csv" nothere.csv
mkdir -p a_folder
train_csv csv_is_folder 1 "data.dataset_csv: cannot open 'a_folder': it is a folder" "check data.dataset_csv" a_folder
: > empty.csv
train_csv csv_empty 1 "empty.csv: the file is empty" "needs a header row" empty.csv
printf 'subject,filePath,channel\n' > header_only.csv
train_csv csv_header_only 1 "header_only.csv:1: the header has no rows" "add a row per subject" header_only.csv
printf 'subject,filePath,channel\n"s0,x,image\n' > open_quote.csv
train_csv csv_open_quote 1 "open_quote.csv:2: field 1 opens a quote that is never closed" "write a quote inside it" \
  open_quote.csv
printf 'subject,filePath,channel\ns0,\0x,image\n' > nul.csv
train_csv csv_nul_byte 1 "nul.csv:2: contains a NUL byte" "is this a text CSV file" nul.csv
head -c 2000 /dev/urandom > binary.csv
train_csv csv_binary 1 "binary.csv(:[0-9]+)?: " "(text CSV|header|quote|field)" binary.csv
printf 'subject,filePath,channel,extra\ns0,a,image\n' > short_row.csv
train_csv csv_short_row 1 "short_row.csv:2: this row has 3 fields, the header \\(line 1\\) has 4" "add or remove fields, or quote" \
  short_row.csv
printf 'subject,file,channel\ns0,a,image\n' > no_path_column.csv
train_csv csv_no_filepath_column 1 "no_path_column.csv: no 'filePath' column" "InnerEye's layout is subject,filePath,channel" \
  no_path_column.csv
printf 'subject,filePath\ns0,a\n' > no_channel_column.csv
train_csv csv_no_channel_column 1 "no_channel_column.csv: no 'channel' column" "InnerEye's layout is" \
  no_channel_column.csv
{ head -3 data/dataset.csv; sed -n 2p data/dataset.csv; tail -n +4 data/dataset.csv; } | abs > twice.csv
train_csv csv_channel_twice 1 "subject 'synthetic_000', channel 'image': two rows for this channel \\(lines 2 and 4 of twice.csv\\)" \
  "keep one" twice.csv
{ echo subject,filePath,channel; tail -n +3 data/dataset.csv; } | abs > no_image_row.csv
train_csv csv_no_image_row 1 "subject 'synthetic_000', channel 'image': no row for this channel \\(the subject has 'label'\\)" \
  "Fix them" no_image_row.csv
{ echo subject,filePath,channel; echo 's0,,image'; tail -n +3 data/dataset.csv; } | abs > empty_path.csv
train_csv csv_empty_path 1 "subject 's0', channel 'image': the file path is empty \\(line 2 of empty_path.csv\\)" \
  "Fix them" empty_path.csv
{ echo subject,filePath,channel; echo ",$W/data/synthetic_000_image.nii.gz,image"; tail -n +3 data/dataset.csv; } | abs > no_subject.csv
train_csv csv_empty_subject 1 "no_subject.csv:2: the subject column 'subject' is empty" "fill in the subject's name" no_subject.csv
sed '2s|,synthetic_000_image|,missing_dir/synthetic_000_image|' data/dataset.csv > wrong_root.csv
train_csv csv_relative_path_missing 1 "missing_dir/synthetic_000_image.nii.gz\\): No such file" \
  "relative paths start at $W" wrong_root.csv

# Subject names become file and folder names (predictions/<subject>_...,
# <out>/<subject>/): one that could leave the run folder or cannot be a file
# name is refused before anything is trained or written.
named() { { echo subject,filePath,channel; sed -n 2,3p data/dataset.csv | sed "s|^synthetic_000|$1|"; tail -n +4 data/dataset.csv; } | abs; }
named '../../../escaped' > traversal.csv
train_csv subject_path_traversal 1 "subject '../../../escaped' \\(line 2 of traversal.csv\\) cannot name an output file" \
  "rename the subject" traversal.csv
named 'a/b' > slash.csv
train_csv subject_with_slash 1 "subject 'a/b' \\(line 2 of slash.csv\\) cannot name an output file" "rename the subject" slash.csv
named '..' > dotdot.csv
train_csv subject_dotdot 1 "subject '\\.\\.' \\(line 2 of dotdot.csv\\) cannot name an output file" "rename the subject" \
  dotdot.csv
{ echo subject,filePath,channel; printf '"new\nline",%s,image\n"new\nline",%s,label\n' "$W/data/synthetic_000_image.nii.gz" \
  "$W/data/synthetic_000_label.nii.gz"; tail -n +4 data/dataset.csv | abs; } > newline.csv
train_csv subject_control_character 1 "subject 'new.line' \\(line 2 of newline.csv\\) cannot name an output file" \
  "rename the subject" newline.csv
long=$(printf 'x%.0s' $(seq 1 230))
named "$long" > long_subject.csv
train_csv subject_too_long 1 "subject 'x{230}' \\(line 2 of long_subject.csv\\) is 230 bytes long" "at most 200" \
  long_subject.csv
named '../../escaped' > traversal_infer.csv
expect infer_subject_path_traversal 1 "subject '../../escaped' \\(line 2 of traversal_infer.csv\\) cannot name an output" \
  "rename the subject" -- "$IE" infer --run runs/good --dataset traversal_infer.csv --out preds
expect infer_subject_flag_traversal 1 "subject '../up' cannot name an output folder: it holds '/'" "rename the subject" -- \
  "$IE" infer --run runs/good --image data/synthetic_000_image.nii.gz --subject ../up --out preds
