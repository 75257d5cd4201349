/* FANN 2.2 baseline for bench/small_data.py: a 1-hidden-layer network
 * (tanh hidden, linear output for regression, sigmoid outputs on one-hot
 * targets for classification), FANN's default RPROP (iRPROP-, full batch)
 * for a fixed number of epochs, then the test set's MSE and error rate.
 *   fann_rprop TRAIN.fann TEST.fann HIDDEN EPOCHS SEED CLASSIFY
 * prints "mse M err E" (E: fraction misclassified, -1 for regression). */
#include <fann.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: fann_rprop TRAIN TEST HIDDEN EPOCHS SEED CLASSIFY\n");
        return 2;
    }
    int hidden = atoi(argv[3]), epochs = atoi(argv[4]), classify = atoi(argv[6]);
    srand((unsigned)atoi(argv[5]));   /* FANN draws its initial weights with rand() */
    struct fann_train_data *tr = fann_read_train_from_file(argv[1]);
    struct fann_train_data *te = fann_read_train_from_file(argv[2]);
    if (!tr || !te) return 1;
    unsigned ni = fann_num_input_train_data(tr), no = fann_num_output_train_data(tr);
    struct fann *ann = fann_create_standard(3, ni, (unsigned)hidden, no);
    fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
    fann_set_activation_function_output(ann, classify ? FANN_SIGMOID : FANN_LINEAR);
    fann_set_training_algorithm(ann, FANN_TRAIN_RPROP);
    fann_train_on_data(ann, tr, (unsigned)epochs, 0, 0.0f);
    double se = 0.0;
    long wrong = 0;
    unsigned n = fann_length_train_data(te);
    for (unsigned i = 0; i < n; i++) {
        fann_type *out = fann_run(ann, te->input[i]);
        unsigned best = 0, truth = 0;
        for (unsigned k = 0; k < no; k++) {
            double e = (double)out[k] - te->output[i][k];
            se += e * e;
            if (out[k] > out[best]) best = k;
            if (te->output[i][k] > te->output[i][truth]) truth = k;
        }
        wrong += best != truth;
    }
    printf("mse %.9g err %.9g\n", se / ((double)n * no), classify ? (double)wrong / n : -1.0);
    fann_destroy(ann);
    fann_destroy_train(tr);
    fann_destroy_train(te);
    return 0;
}
